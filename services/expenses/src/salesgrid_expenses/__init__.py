"""Salesgrid expenses service."""
