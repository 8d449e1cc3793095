"""Salesgrid webhooks service: subscriptions to bus events, signed deliveries with retries, delivery log."""
