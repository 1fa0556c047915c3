"""Command handlers: plain async functions `(payload, context, deps) -> Handled`, one per command."""
