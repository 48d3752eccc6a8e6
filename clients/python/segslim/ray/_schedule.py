"""Hands shards to actors, one at a time each, and retries a shard whose actor died.

A shard's result depends only on the shard (the daemon is deterministic and every actor runs
the same build on the same files), so re-running it elsewhere cannot change the merged
answer: a retry is exact. Errors the daemon answered (a bad parameter, an unreadable image)
are not retried: they would fail again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

#: ``on_dispatch(shard, attempt, actor)``: called right after a shard is sent to an actor.
DispatchHook = Callable[[int, int, Any], None]


@dataclass
class ShardRecord:
    """Where a shard ran: the actors tried, in order, and how many of them died under it."""
    index: int
    attempts: List[str] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)


class ActorsExhausted(RuntimeError):
    """Every actor died, or a shard died under ``max_retries + 1`` actors."""


def run_shards(ray: Any, pool: "Any", count: int, submit: Callable[[Any, int], Any], max_retries: int,
               on_dispatch: Optional[DispatchHook] = None) -> "tuple[List[Any], List[ShardRecord]]":
    """Runs shards ``0..<count`` on ``pool``'s actors; returns their results in shard order.

    ``submit(actor, shard)`` sends one shard and returns its ObjectRef. An actor that dies
    (``RayActorError``: killed, its node lost) leaves the pool; its shard goes back to the
    front of the queue for another actor, and the pool starts a replacement so the cluster
    keeps its width.
    """
    actor_error = ray.exceptions.RayActorError
    results: List[Any] = [None] * count
    records = [ShardRecord(i) for i in range(count)]
    queue: Deque[int] = deque(range(count))
    idle = list(pool.actors)
    pending: Dict[Any, "tuple[int, Any]"] = {}
    while queue or pending:
        while queue and idle:
            actor = idle.pop(0)
            shard = queue.popleft()
            ref = submit(actor, shard)
            pending[ref] = (shard, actor)
            records[shard].attempts.append(pool.name(actor))
            if on_dispatch is not None:
                on_dispatch(shard, len(records[shard].attempts), actor)
        if not pending:
            raise ActorsExhausted("no live actor is left to run shards %s" % list(queue))
        ready, _ = ray.wait(list(pending), num_returns=1)
        shard, actor = pending.pop(ready[0])
        try:
            results[shard] = ray.get(ready[0])
        except actor_error as e:
            records[shard].failures.append("%s: %s" % (pool.name(actor), type(e).__name__))
            if len(records[shard].failures) > max_retries:
                raise ActorsExhausted("shard %d failed on %d actors (%s); giving up"
                                      % (shard, len(records[shard].failures), "; ".join(records[shard].failures))) from e
            queue.appendleft(shard)
            replacement = pool.replace(actor)
            if replacement is not None:
                idle.append(replacement)
            continue
        idle.append(actor)
    return results, records
