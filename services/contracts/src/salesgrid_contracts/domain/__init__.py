"""Business rules of the contracts service.

Plain Python only: nothing here imports gRPC, Flask, NATS or SQLAlchemy. Rules take the current
instant (`now`, timezone-aware) or day (`today`) as parameters instead of reading the clock.
"""
