"""Who may send to a conversation, from memory: the send path's membership check.

A send batch used to ask the database, in its transaction, whether each
sender is a member. Now a (conversation, member) pair the database confirmed
is remembered, and later sends of that pair skip the query. What keeps the
memory right is the cluster log: every change of membership is already a
`join`/`leave` control entry there (to move the members' sockets), which
every node applies in log order; `MemberCache.apply` is told of each one.

- A leave forgets the pair at once on the node that ran it, and on the others
  when they read the entry (milliseconds behind with Redis). Until then a
  send there is accepted as before the leave, like a broadcast that reaches
  the leaver's sockets in that window.
- A pair not remembered (a new member, a cold node, a non-member) is asked of
  the database, as before; a join needs no entry here.
- An entry is trusted for `TTL_SECONDS` only, so a node that missed log
  entries (Redis down for a while) is wrong for that long at most, and at
  most `MAX_CONVERSATIONS` conversations are held (least recently used go).
- Only while the realtime server runs (the log flows); otherwise every send
  asks the database.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from switchboard.types import Room, UserId, conversation_of_room

TTL_SECONDS = 30.0
MAX_CONVERSATIONS = 100_000

Pair = tuple[int, UserId]  # (conversation id, user id)


class MemberCache:
    def __init__(self, live: Callable[[], bool]) -> None:
        """`live`: whether the realtime server runs (so that leaves reach `apply`)."""
        self._live = live
        # conversation -> (loaded at, members seen); oldest use first.
        self._members: OrderedDict[int, tuple[float, set[UserId]]] = OrderedDict()
        # Bumped by every leave: a batch that read the database before a leave
        # must not remember what it read (see `remember`).
        self.epoch = 0

    def known(self, pairs: Iterable[Pair]) -> set[Pair]:
        """The pairs remembered as members (the rest must be asked of the database)."""
        if not self._live():
            return set()
        now = time.monotonic()
        found: set[Pair] = set()
        for cid, uid in pairs:
            entry = self._members.get(cid)
            if entry is None:
                continue
            if now - entry[0] > TTL_SECONDS:
                del self._members[cid]
                continue
            if uid in entry[1]:
                found.add((cid, uid))
                self._members.move_to_end(cid)
        return found

    def remember(self, pairs: Iterable[Pair], epoch: int) -> None:
        """Pairs the database confirmed in a transaction that began at `epoch`."""
        if epoch != self.epoch or not self._live():
            return  # a leave came in between: what was read may be stale
        now = time.monotonic()
        for cid, uid in pairs:
            entry = self._members.get(cid)
            if entry is None:
                entry = self._members[cid] = (now, set())
            entry[1].add(uid)
            self._members.move_to_end(cid)
        while len(self._members) > MAX_CONVERSATIONS:
            self._members.popitem(last=False)

    def forget(self, conversation_id: int, user_id: UserId) -> None:
        self.epoch += 1
        entry = self._members.get(conversation_id)
        if entry is not None:
            entry[1].discard(user_id)

    def apply(self, kind: str, user_id: UserId, room: Room) -> None:
        """A `join`/`leave` entry of the chat log (every node, in log order)."""
        conversation_id = conversation_of_room(room)
        if kind == "leave" and conversation_id is not None:
            self.forget(conversation_id, user_id)
