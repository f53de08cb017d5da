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


def test_broadcasts_count_per_event_with_a_fanout_histogram() -> None:
    m = Metrics()
    for recipients in (0, 1, 2, 2, 7, 20_000):
        m.event_out("/chat", "message:new", recipients)
    m.event_out("/notifications", "notification", 1)
    sent = {"namespace": "/chat", "event": "message:new"}
    assert _sample(m, "switchboard_events_out_total", sent) == 6
    assert (
        _sample(
            m,
            "switchboard_events_out_total",
            {"namespace": "/notifications", "event": "notification"},
        )
        == 1
    )
    # Cumulative buckets, as Prometheus reads them: le="2.0" holds 0, 1, 1, 2 and 2.
    assert _sample(m, "switchboard_emit_fanout_bucket", {"le": "0.0"}) == 1
    assert _sample(m, "switchboard_emit_fanout_bucket", {"le": "2.0"}) == 5
    assert _sample(m, "switchboard_emit_fanout_bucket", {"le": "10.0"}) == 6
    assert _sample(m, "switchboard_emit_fanout_bucket", {"le": "10000.0"}) == 6
    assert _sample(m, "switchboard_emit_fanout_bucket", {"le": "+Inf"}) == 7
    assert _sample(m, "switchboard_emit_fanout_count", {}) == 7
    assert _sample(m, "switchboard_emit_fanout_sum", {}) == 20_013
    text = m.render().decode()
    assert 'switchboard_events_out_total{event="message:new",namespace="/chat"} 6.0' in text


def test_handler_latency_is_a_histogram_per_event() -> None:
    m = Metrics()
    for seconds in (0.0001, 0.002, 0.002, 3.0):
        m.handler_latency("/chat", "message:send", seconds)
    m.handler_latency("/chat", "presence:query", 0.0001)
    send = {"namespace": "/chat", "event": "message:send"}
    assert _sample(m, "switchboard_handler_seconds_bucket", {**send, "le": "0.0005"}) == 1
    assert _sample(m, "switchboard_handler_seconds_bucket", {**send, "le": "0.0025"}) == 3
    assert _sample(m, "switchboard_handler_seconds_bucket", {**send, "le": "2.5"}) == 3
    assert _sample(m, "switchboard_handler_seconds_bucket", {**send, "le": "+Inf"}) == 4
    assert _sample(m, "switchboard_handler_seconds_count", send) == 4
    assert _sample(m, "switchboard_handler_seconds_sum", send) == 3.0041
    query = {"namespace": "/chat", "event": "presence:query"}
    assert _sample(m, "switchboard_handler_seconds_count", query) == 1
    text = m.render().decode()
    assert "# TYPE switchboard_handler_seconds histogram" in text
    assert (
        'switchboard_handler_seconds_bucket{event="message:send",le="0.001",namespace="/chat"} 1.0'
        in text
    )
