"""The Flask edge of the consent ledger: recording consents for people (desk CLI, later pages)."""
