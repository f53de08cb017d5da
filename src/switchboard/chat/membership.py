"""Who is in a conversation, from memory: the membership check of sends, receipts, reads.

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

from collections.abc import Callable, Iterable

from switchboard.storage.expiring_map import ExpiringMap
from switchboard.types import Room, UserId, conversation_of_room

TTL_SECONDS = 30.0
MAX_CONVERSATIONS = 100_000

Pair = tuple[int, UserId]  # (conversation id, user id)


class MemberCache:
    def __init__(self, live: Callable[[], bool]) -> None:
        """`live`: whether the realtime server runs (so that leaves reach `apply`)."""
        self._live = live
        # conversation -> members seen (trusted from the first one's query on)
        self._members: ExpiringMap[int, set[UserId]] = ExpiringMap(TTL_SECONDS, MAX_CONVERSATIONS)
        # Bumped by every leave: a batch that read the database before a leave
        # must not remember what it read (see `remember`).
        self.epoch = 0

    def known(self, pairs: Iterable[Pair]) -> set[Pair]:
        """The pairs remembered as members (the rest must be asked of the database)."""
        if not self._live():
            return set()
        found: set[Pair] = set()
        for cid, uid in pairs:
            members = self._members.get(cid)
            if members is not None and uid in members:
                found.add((cid, uid))
        return found

    def remember(self, pairs: Iterable[Pair], epoch: int) -> None:
        """Pairs the database confirmed in a transaction that began at `epoch`."""
        if epoch != self.epoch or not self._live():
            return  # a leave came in between: what was read may be stale
        for cid, uid in pairs:
            members = self._members.get(cid)
            if members is None:
                members = set()
                self._members.put(cid, members)
            members.add(uid)

    def forget(self, conversation_id: int, user_id: UserId) -> None:
        self.epoch += 1
        members = self._members.get(conversation_id)
        if members is not None:
            members.discard(user_id)

    def apply(self, kind: str, user_id: UserId, room: Room) -> None:
        """A `join`/`leave` entry of the chat log (every node, in log order)."""
        conversation_id = conversation_of_room(room)
        if kind == "leave" and conversation_id is not None:
            self.forget(conversation_id, user_id)
