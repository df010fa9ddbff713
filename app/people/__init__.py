"""People OFPRA protects: identity, protections, civil status; matching and records."""
