"""The command side: AMQP adapter, pipeline (inbox, handler, outbox), dispatch table and handlers."""
