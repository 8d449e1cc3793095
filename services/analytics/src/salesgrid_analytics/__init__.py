"""Salesgrid analytics service: read models built from the other services' events."""
