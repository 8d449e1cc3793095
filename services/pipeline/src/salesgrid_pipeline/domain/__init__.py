"""Business rules of the pipeline service, as plain Python.

Nothing here imports gRPC, Flask, NATS or SQLAlchemy: the servicer loads state, calls these
functions with an injected ``now`` and persists what they return.
"""
