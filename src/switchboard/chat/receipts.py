"""Group commit for read receipts: receipts that arrive while a transaction runs share the next.

An open chat screen marks every message read, so each message of a room of N
members brings up to N receipts. As one transaction each, a receipt cost
several sends' worth of CPU (docs/benchmarks.md). A batch checks membership
(of pairs not remembered: `MemberCache`, as for sends), that every receipt's
message is in its conversation, and moves each member's mark to the latest
message its receipts name, one conditional UPDATE per member, so a mark never
moves backwards. Each receipt is answered after the commit: True when it moved
the mark (of a member's receipts in one batch, only the first naming the
latest message can).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select

from switchboard.chat.membership import MemberCache, Pair
from switchboard.chat.queries import confirm_members, move_read_mark_to
from switchboard.errors import AppError, ForbiddenError, NotFoundError
from switchboard.storage.database import Database
from switchboard.storage.group_commit import GroupCommit
from switchboard.storage.models import Message
from switchboard.types import UserId

log = logging.getLogger("switchboard.chat")

# How many receipts one transaction takes at most (bounds the statement sizes).
MAX_BATCH = 500

_MESSAGES_AMONG = select(Message.id, Message.conversation_id).where(
    Message.id.in_(bindparam("message_ids", expanding=True))
)


@dataclass(slots=True)
class Receipt:
    user_id: UserId
    conversation_id: int
    message_id: int
    done: asyncio.Future[bool] = field(repr=False)


# Per receipt: whether it moved the mark, or why it was refused.
Outcome = bool | AppError


class ReceiptWriter:
    def __init__(self, db: Database, members: MemberCache) -> None:
        self.db = db
        self.members = members
        self._group: GroupCommit[Receipt] = GroupCommit(
            self._commit, _fail, max_weight=MAX_BATCH, name="batch of read receipts"
        )

    async def mark(self, user_id: UserId, conversation_id: int, message_id: int) -> bool:
        """Move the member's last read message to `message_id` if later; True when it moved.

        Raises NotFoundError (no such conversation, or no such message in it)
        or ForbiddenError (not a member).
        """
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._group.submit(Receipt(user_id, conversation_id, message_id, done))
        return await done

    async def _commit(self, batch: list[Receipt]) -> None:
        members = self.members
        known = members.known({(r.conversation_id, r.user_id) for r in batch})
        epoch = members.epoch  # before the transaction reads (MemberCache.remember)
        outcomes, confirmed = await self.db.run_write(lambda conn: _store(conn, batch, known))
        members.remember(confirmed, epoch)
        for receipt, outcome in zip(batch, outcomes, strict=True):
            if receipt.done.done():
                continue
            if isinstance(outcome, AppError):
                receipt.done.set_exception(outcome)
            else:
                receipt.done.set_result(outcome)


def _store(
    conn: Connection, batch: list[Receipt], known: set[Pair]
) -> tuple[list[Outcome], set[Pair]]:
    pairs = {(r.conversation_id, r.user_id) for r in batch}
    member_pairs, confirmed, refused = confirm_members(conn, pairs, known)
    found = dict(
        conn.execute(_MESSAGES_AMONG, {"message_ids": list({r.message_id for r in batch})}).all()
    )
    outcomes: list[Outcome] = []
    latest: dict[Pair, int] = {}  # pair -> index of its receipt naming the latest message
    for i, r in enumerate(batch):
        pair = (r.conversation_id, r.user_id)
        if pair not in member_pairs:
            outcomes.append(refused.get(r.conversation_id) or ForbiddenError())
        elif found.get(r.message_id) != r.conversation_id:
            outcomes.append(NotFoundError("message not found"))
        else:
            outcomes.append(False)
            first = latest.get(pair)
            if first is None or batch[first].message_id < r.message_id:
                latest[pair] = i
    for (conversation_id, user_id), i in latest.items():
        outcomes[i] = move_read_mark_to(conn, user_id, conversation_id, batch[i].message_id)
    return outcomes, confirmed


def _fail(receipt: Receipt, exc: BaseException) -> None:
    if receipt.done.done():
        return
    if not isinstance(exc, AppError):
        log.error("storing a read receipt failed", exc_info=exc)
    receipt.done.set_exception(exc)
