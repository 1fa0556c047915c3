"""The wire contract of luna-admin-bus: envelopes, payloads, results, events, error codes, topology."""
