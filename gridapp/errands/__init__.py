"""Errands for housebound residents (代办代买): filed by grid staff, claimed once, delivered, confirmed."""
