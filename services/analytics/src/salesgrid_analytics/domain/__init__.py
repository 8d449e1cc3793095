"""Analytics business rules as plain Python: no gRPC, HTTP, NATS or SQL here."""
