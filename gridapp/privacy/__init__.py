"""Residents' data under PIPL: every staff look and export recorded, personal export columns gated,
retention and purge, closing the emergency, a resident's request (docs/PRIVACY.md)."""
