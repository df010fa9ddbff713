"""The access journal: every answer and refusal, sealed in signed Merkle batches."""
