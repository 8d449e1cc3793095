"""Salesgrid pipeline service: leads, opportunities, stage model and SLAs, quotes, forecast."""
