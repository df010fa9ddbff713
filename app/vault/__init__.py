"""The document vault: OFPRA's letters deposited in the person's space, with their dates."""
