"""People's accounts on the personal space: activation, sign-in, contacts, language."""
