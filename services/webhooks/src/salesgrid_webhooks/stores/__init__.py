"""Stores per aggregate: the one mapping between the webhooks tables and the domain values."""
