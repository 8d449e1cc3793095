"""Export jobs any service can serve for the records it owns (see jobs.py)."""
