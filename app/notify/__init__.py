"""Alerts by e-mail and SMS, from a transactional outbox, sent after commit by a worker."""
