"""Records as signed attestations (PDF + QR), their revocation, and the public verifier."""
