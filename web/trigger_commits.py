"""Group commit for the triggers the API accepts: many requests, one transaction.

Accepting a trigger is a few indexed reads and one insert; a transaction of its own for
each would cap a web process at what the database commits per second. So the requests
arriving together are checked and stored in one unit of work (`accept_triggers`: reads
first, set-based, then one insert) while the next ones gather for the following one
(`GroupWork`). A request is answered only once its row is committed: a 202 is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Engine

from richsms.clock import Clock
from richsms.db import session_scope
from richsms.errors import RichsmsError
from richsms.settings import Settings
from sender.campaigns.triggers import Accepted, TriggerRequest, accept_triggers
from web.group_work import GroupWork

# Triggers per transaction at most: the write lock is free again within milliseconds.
MAX_BATCH: Final = 200

TriggerCommits = GroupWork[TriggerRequest, Accepted]


def trigger_commits(engine: Engine, clock: Clock, settings: Settings) -> TriggerCommits:
    """Checks and stores triggers in shared units of work, in the threadpool, reading
    without the write lock and taking it at the insert (as `AppContext.in_session`)."""

    def accept(requests: Sequence[TriggerRequest]) -> list[Accepted | RichsmsError]:
        with session_scope(engine, lock_at_first_write=True) as session:
            return accept_triggers(
                session=session, clock=clock, settings=settings, requests=requests
            )

    return GroupWork(accept, most=MAX_BATCH)
