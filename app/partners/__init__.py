"""Partner administrations, their habilitations, and the three questions they may ask."""
