"""Identity business rules: plain Python, no gRPC, HTTP or NATS."""
