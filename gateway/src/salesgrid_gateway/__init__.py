"""Salesgrid API gateway."""
