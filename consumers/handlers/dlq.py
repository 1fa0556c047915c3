"""dlq.list and dlq.replay."""

from __future__ import annotations

import asyncio

from consumers.ports import Context, Deps, Handled
from contracts import dlq as c


async def list_dead_letters(cmd: c.DlqList, ctx: Context, deps: Deps) -> Handled:
    """Waiting dead letters, oldest first, with why and how often they failed."""
    recs = await deps.dead_letters.waiting(cmd.queue, cmd.limit)
    items = [c.DeadLetter(message_id=r.message_id, queue=r.queue, routing_key=r.routing_key,
                          reason=r.reason, attempts=r.attempts, first_failure=r.first_failure,
                          last_failure=r.last_failure) for r in recs]
    return Handled(result=c.DlqPage(messages=items, count=len(items)))


async def replay(cmd: c.DlqReplay, ctx: Context, deps: Deps) -> Handled:
    """Publish dead letters back through the normal path (at `rate` per second if given). Safe to
    repeat: a command that was applied meanwhile is answered from the inbox."""
    if cmd.all:
        recs = await deps.dead_letters.waiting(None, 10_000)
    else:
        recs = await deps.dead_letters.by_ids(cmd.message_ids or [])
    for i, rec in enumerate(recs):
        if cmd.rate and i:
            await asyncio.sleep(1 / cmd.rate)
        await deps.replayer.replay(rec)
        await deps.dead_letters.mark_replayed(rec.message_id, ctx.now)
    return Handled(result=c.DlqReplayed(replayed=len(recs)))
