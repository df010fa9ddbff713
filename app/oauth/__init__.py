"""The OAuth 2 authorization server (Authlib), its keys, and access-token verification."""
