"""Business rules of the expenses service.

Plain Python only: nothing here imports gRPC, Flask, NATS or SQLAlchemy. Rules take the current
instant (`now`, timezone-aware) or day as parameters instead of reading the clock.
"""
