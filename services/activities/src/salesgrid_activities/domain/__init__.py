"""Business rules of the activities service.

Plain Python only: nothing here imports gRPC, Flask, NATS or SQLAlchemy. Every rule takes the
current instant as a parameter (`now`) instead of reading the clock.
"""
