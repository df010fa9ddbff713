"""Support structures (SPADA, CADA, HUDA): they follow dates, never documents."""
