"""Tests of the disinfection rounds."""
