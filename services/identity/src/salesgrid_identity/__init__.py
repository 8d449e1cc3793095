"""Salesgrid identity service."""
