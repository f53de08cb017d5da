"""Metrics keep labelled children at hand without mixing apps or labels."""

from __future__ import annotations

from switchboard.metrics import Metrics


def _sample(metrics: Metrics, name: str, labels: dict[str, str]) -> float | None:
    value = metrics.registry.get_sample_value(name, labels)
    return None if value is None else float(value)


def test_socket_gauges_count_per_namespace_and_per_app() -> None:
    a, b = Metrics(), Metrics()
    for _ in range(3):
        a.socket_connected("/chat")
    a.socket_connected("/notifications")
    a.socket_disconnected("/chat")
    b.socket_connected("/chat")
    assert _sample(a, "switchboard_connected_sockets", {"namespace": "/chat"}) == 2
    assert _sample(a, "switchboard_connected_sockets", {"namespace": "/notifications"}) == 1
    assert _sample(b, "switchboard_connected_sockets", {"namespace": "/chat"}) == 1


def test_events_count_per_event_and_long_names_are_cut() -> None:
    m = Metrics()
    m.event_in("/chat", "message:send")
    m.event_in("/chat", "message:send")
    m.event_in("/chat", "x" * 100)
    assert (
        _sample(m, "switchboard_events_in_total", {"namespace": "/chat", "event": "message:send"})
        == 2
    )
    assert _sample(m, "switchboard_events_in_total", {"namespace": "/chat", "event": "x" * 64}) == 1
