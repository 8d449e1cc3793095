"""Idempotency keys inside the service's own transaction (issue 17): a write retried with the
same key executes once, even when the process died between its commit and its answer.

The gateway forwards a caller's `Idempotency-Key` (already scoped to the caller, one key per
method and call of the request) as the gRPC metadata `idempotency-key`. For such a unary call the
server interceptor hands the call to `IdempotentCalls.run`, which

- opens ONE transaction on the service's database for the whole call, and looks the key up in
  `idempotency_keys` (scoped again to the verified principal and the method): found, the stored
  answer is returned, marked by the trailing metadata `idempotent-replayed: true` (or its error
  status raised again) and nothing executes; found for another
  request (the gateway's fingerprint of the HTTP request, `idempotency-request`, or else the
  request message's), the call is refused (422 naming the key);
- runs the handler with every session the service makes (`salesgrid_common.db.session_factory`,
  reader and writer, in the call's own task) joined to that transaction: a use case's own
  `session.begin()` ... commit becomes a savepoint, so its writes and outbox events stay
  uncommitted until the call is done;
- if the call wrote anything, inserts the key with the serialized answer (or the error status
  of a refusal that followed a write) and commits: the write, its events and the key with its
  answer become durable together, or not at all. A crash or a cancellation (the caller gone)
  before that commit rolls everything back, so the retry executes afresh; a crash after it
  leaves the answer to replay.

Concurrent calls with one key: on SQLite the transaction takes the write lock at its start, so
the second call finds the first's key; on PostgreSQL the second call's key insert waits for the
first and, finding it committed, rolls its own work back and returns the first's answer.

Client-streaming calls (uploads, `run_upload`): the transaction begins once the client's stream
has been read to the end, so no lock is held while a client uploads; writes the handler makes
before that (none do) would not be covered. Keys are kept `TTL` (longer than the gateway's 24 h).

- calls.py: `IdempotentCalls` (the run of a keyed call, its replay and the key's commit), the gRPC
  metadata names, and the errors of a reused key and of a replayed refusal.
- sessions.py: `CallSessions`, the sessions that join the transaction of the keyed call running in
  their task, and the marking of a call that wrote.
- keys.py: the `idempotency_keys` table, a key's id and what a valid key is."""
