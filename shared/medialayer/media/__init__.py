"""Media kinds. Each kind lives in one folder and implements ``MediaEngine`` (see base.py)."""
