"""Retention: old inbox records go, sent outbox entries a margin later, unsent entries never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.settings import Settings
from storage.retention import prune

DAY = timedelta(days=1)


async def test_prune_keeps_the_window_and_everything_unsent(db: Any) -> None:
    now = datetime.now(UTC)
    await db.inbox.insert_many([{"_id": "old", "processed_at": now - 8 * DAY},
                                {"_id": "recent", "processed_at": now - DAY}])
    await db.outbox.insert_many([
        {"_id": "sent-long-ago", "sent": True, "sent_at": now - 8 * DAY - timedelta(hours=2)},
        {"_id": "sent-within-margin", "sent": True, "sent_at": now - 7 * DAY - timedelta(minutes=30)},
        {"_id": "sent-recently", "sent": True, "sent_at": now - DAY},
        {"_id": "never-sent", "sent": False, "created_at": now - 30 * DAY},
    ])

    done = await prune(db, now, inbox_s=7 * 24 * 3600, outbox_margin_s=3600)

    assert (done.inbox, done.outbox) == (1, 1)
    assert [d["_id"] for d in await db.inbox.find().sort("_id").to_list()] == ["recent"]
    assert sorted(d["_id"] for d in await db.outbox.find().to_list()) == [
        "never-sent", "sent-recently", "sent-within-margin"]
    assert await prune(db, now, inbox_s=7 * 24 * 3600, outbox_margin_s=3600) == type(done)(0, 0)


async def test_the_relay_role_prunes_by_itself(settings: Settings, db: Any, poll: Any) -> None:
    from service.bootstrap import Service

    fast = settings.model_copy(update={"retention": settings.retention.model_copy(
        update={"inbox_s": 60, "outbox_margin_s": 0, "every_s": 0.2})})
    async with Service(fast, frozenset({"relay"})):
        await db.inbox.insert_one({"_id": "stale", "processed_at": datetime.now(UTC) - DAY})

        async def gone() -> bool:
            return await db.inbox.count_documents({"_id": "stale"}) == 0

        assert await poll(gone, timeout_s=20)


async def test_a_duplicate_after_the_original_result_was_pruned_is_answered_from_its_resend(
        db: Any) -> None:
    """A command processed again after its inbox record expired gets a new inbox record and a
    re-send of its result; when retention later prunes the original result, the re-send (same
    event id and bytes) still answers the next duplicate."""
    import uuid

    from storage.outbox import Outbox, OutboxEntry

    outbox = Outbox(db)
    command_id, event_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await outbox.add([OutboxEntry(event_id=event_id, stream="results", key="k", value=b'{"r": 1}',
                                  headers=(("type", "x.result"),), command_id=command_id, kind="result")])
    assert await outbox.resend_result(command_id) == 1  # the second delivery, after the inbox expired
    await db.outbox.update_many({}, {"$set": {"sent": True}})
    await db.outbox.update_one({"_id": str(event_id)}, {"$set": {"sent_at": now - 8 * DAY}})
    await db.outbox.update_one({"kind": "resend"}, {"$set": {"sent_at": now - DAY}})
    await prune(db, now, inbox_s=7 * 24 * 3600, outbox_margin_s=3600)
    assert [d["kind"] for d in await db.outbox.find().to_list()] == ["resend"]  # the original is gone

    assert await outbox.result_of(command_id) == b'{"r": 1}'
    assert await outbox.resend_result(command_id) == 1  # the third delivery is answered too
    copies = await db.outbox.find({"sent": False}).to_list()
    assert [(c["event_id"], bytes(c["value"]), c["_id"].count(":resend:")) for c in copies] == [
        (str(event_id), b'{"r": 1}', 1)]
