"""MongoDB persistence: client and indexes, one repository per area, inbox and outbox."""
