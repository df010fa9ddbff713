"""The consent ledger and the consent policy. Knows nothing of Flask or HTTP."""
