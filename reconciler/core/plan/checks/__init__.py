"""Validation findings of SPEC 3, grouped by what they look at."""
