"""Deterministic ids: the backbone of effectively-once processing.

Anything a command creates, and every event it emits, gets an id derived from the command id, so a
redelivered command recreates the same objects and re-emits the same event ids, never new ones.
"""

from __future__ import annotations

import hashlib
import uuid

# A fixed namespace for this service; changing it would change every derived id.
NAMESPACE = uuid.UUID("5b0c4e86-6f4e-4d3c-9a55-4c756e612d61")


def derive(command_id: uuid.UUID, kind: str, seq: int = 0) -> uuid.UUID:
    """The id of the `seq`-th object or event of `kind` produced by `command_id`."""
    return uuid.uuid5(NAMESPACE, f"{command_id}:{kind}:{seq}")


def for_body(body: bytes) -> uuid.UUID:
    """A stable command id for a message that never carried a usable one (e.g. not JSON)."""
    return uuid.uuid5(NAMESPACE, "body:" + hashlib.sha256(body).hexdigest())
