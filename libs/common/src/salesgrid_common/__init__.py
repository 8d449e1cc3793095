"""Salesgrid shared library: settings, logging, metrics, tracing, database, events, auth, gRPC bootstrap."""
