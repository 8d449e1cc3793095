"""The event bus: envelope, transactional outbox, relay to JetStream, idempotent consumers."""
