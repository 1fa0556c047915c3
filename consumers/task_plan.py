"""How a task is cut into parts. Part ids derive from the task id and the part's index, so a
redelivered start command plans the same parts and a worker can name the part after the next."""

from __future__ import annotations

from collections import defaultdict
from itertools import zip_longest
from uuid import UUID

from contracts import ids
from storage.tasks import PartRecord

BATCH = 16  # faces per re-extraction part: a few seconds of work, far from any consumer timeout


def part_id(task_id: UUID, index: int) -> UUID:
    return ids.derive(task_id, "part", index)


def gc_parts(task_id: UUID, accounts: list[UUID]) -> list[PartRecord]:
    """One part per account."""
    return [PartRecord(part_id(task_id, i), task_id, i, a) for i, a in enumerate(accounts)]


def reextract_parts(task_id: UUID, faces: list[tuple[UUID, UUID]], batch: int = BATCH) -> list[PartRecord]:
    """Batches of one account's faces, taken round-robin across accounts, so that every account's
    faces advance together instead of one account's after another's."""
    per_account: dict[UUID, list[UUID]] = defaultdict(list)
    for account_id, face_id in faces:
        per_account[account_id].append(face_id)
    batches = [[(a, tuple(f[i:i + batch])) for i in range(0, len(f), batch)] for a, f in per_account.items()]
    ordered = [b for row in zip_longest(*batches) for b in row if b is not None]
    return [PartRecord(part_id(task_id, i), task_id, i, a, chunk) for i, (a, chunk) in enumerate(ordered)]
