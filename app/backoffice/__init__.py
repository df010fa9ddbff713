"""OFPRA's back office: its own systems keep people and deposit letters, under /backoffice/v1.

Only clients of kind `ofpra` hold the back office's scopes (`backoffice:people`,
`backoffice:documents`); `auth.require` checks both at every call. `people.py` holds the
changes to people, `api.py` the HTTP edge; deposits and acknowledgements are the vault's
(`app.vault.deposit`, `app.vault.acknowledgements`).
"""
