"""Supervision (督查暗访 / 督办整改): inspections, findings, rectification items, interviews, circulars."""
