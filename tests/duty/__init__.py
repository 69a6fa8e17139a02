"""Tests of the duty roster."""
