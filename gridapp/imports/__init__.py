"""Imports of a town's own spreadsheets: places, households and more, previewed, then written by a job."""
