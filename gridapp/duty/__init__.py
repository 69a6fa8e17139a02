"""Duty roster (三班轮值): checkpoints, shift patterns, shifts, sign-ups, reminders and gap alerts."""
