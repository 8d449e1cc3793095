"""Salesgrid customers service."""
