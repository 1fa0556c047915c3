"""The measurement harness: `python -m bench` (throughput, latency, stage ceilings, a FastStream
peer), `python -m bench soak` (consumer RSS over a long run), `python -m bench profile`.

Everything runs against the local stack (`deploy/local/stack.sh up`) on 127.0.0.1, under names of
its own (`bench-<tag>` prefix, `bench_<tag>` database) that are removed afterwards.
"""
