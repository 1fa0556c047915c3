"""The peer: account.create written on FastStream, for a side-by-side measurement.

Same work per command as our pipeline: JSON decode and validation with the same pydantic models
(`CommandEnvelope` by FastStream's own argument validation, then `AccountCreate`), the inbox lookup,
the argon2id hash off the event loop, the same account, outbox and inbox documents, the result and
the `account.created` event on Kafka (idempotent producer, acks=all, linger 2 ms), ack after that.
Concurrency: FastStream's RabbitMQ subscriber runs every delivered message in its own task, so by
default up to `prefetch` (100) commands are processed at once and queue order is not kept;
`BENCH_PEER_ORDERED=1` makes it one at a time in delivery order, like ours. Both are measured.
Other differences, by the framework's idiom: it publishes to Kafka directly after the writes
instead of through a relay (its outbox documents are written already marked sent), and it has only
the happy path (no parking, no error results), which the benchmark does not exercise.
Run: `python -m bench.peer` with the service's `LUNA_...` settings in the environment.
"""
