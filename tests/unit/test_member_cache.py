"""`MemberCache`: which senders skip the membership query, and when they stop skipping it."""

from __future__ import annotations

import pytest

from switchboard.chat import membership
from switchboard.chat.membership import MemberCache
from switchboard.storage import expiring_map
from switchboard.types import conversation_of_room, conversation_room, user_of_room, user_room


def _cache(live: bool = True) -> MemberCache:
    return MemberCache(lambda: live)


def test_only_pairs_the_database_confirmed_are_known() -> None:
    cache = _cache()
    assert cache.known({(1, 10)}) == set()
    cache.remember({(1, 10)}, cache.epoch)
    assert cache.known({(1, 10), (1, 11), (2, 10)}) == {(1, 10)}


def test_a_leave_from_the_log_forgets_the_pair_and_nothing_else() -> None:
    cache = _cache()
    cache.remember({(1, 10), (1, 11), (2, 10)}, cache.epoch)
    cache.apply("leave", 10, conversation_room(1))
    assert cache.known({(1, 10), (1, 11), (2, 10)}) == {(1, 11), (2, 10)}
    # Joins, other rooms and other namespaces' rooms change nothing.
    cache.apply("join", 10, conversation_room(1))
    cache.apply("leave", 11, user_room(1))
    assert cache.known({(1, 10), (1, 11)}) == {(1, 11)}


def test_what_a_batch_read_before_a_leave_is_not_remembered() -> None:
    cache = _cache()
    epoch = cache.epoch  # the batch's transaction starts
    cache.forget(1, 10)  # a leave commits meanwhile
    cache.remember({(1, 10)}, epoch)  # the batch had read Bob as a member
    assert cache.known({(1, 10)}) == set()
    cache.remember({(1, 10)}, cache.epoch)  # a later batch may
    assert cache.known({(1, 10)}) == {(1, 10)}


def test_nothing_is_trusted_while_the_log_does_not_flow() -> None:
    cache = _cache(live=False)
    cache.remember({(1, 10)}, cache.epoch)
    assert cache.known({(1, 10)}) == set()


def test_entries_expire_and_the_oldest_conversations_go_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(expiring_map.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(membership, "MAX_CONVERSATIONS", 2)
    cache = _cache()
    cache.remember({(1, 10)}, cache.epoch)
    cache.remember({(2, 10)}, cache.epoch)
    assert cache.known({(1, 10)}) == {(1, 10)}  # 1 is now the most recently used
    cache.remember({(3, 10)}, cache.epoch)  # 2 goes
    assert cache.known({(1, 10), (2, 10), (3, 10)}) == {(1, 10), (3, 10)}
    clock[0] += membership.TTL_SECONDS + 1
    assert cache.known({(1, 10), (3, 10)}) == set()


def test_conversation_rooms_parse_back() -> None:
    assert conversation_of_room(conversation_room(42)) == 42
    assert conversation_of_room(user_room(42)) is None
    assert conversation_of_room("conversation:") is None
    assert conversation_of_room("conversation:4x") is None
    assert conversation_of_room("conversation:\u00b2") is None  # a digit int() refuses


def test_user_rooms_parse_back() -> None:
    assert user_of_room(user_room(7)) == 7
    assert user_of_room(conversation_room(7)) is None
    assert user_of_room("user:") is None
    assert user_of_room("user:-1") is None
