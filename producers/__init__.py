"""The Kafka side: one idempotent producer per process and the outbox relay."""
