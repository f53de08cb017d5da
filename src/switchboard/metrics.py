"""Prometheus metrics, one registry per app (two apps in one process stay apart)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

M = TypeVar("M", Counter, Gauge, Histogram)

# Labelled children kept at hand; past this many, `labels()` is asked each time.
_MAX_CHILDREN = 10_000


FANOUT_BUCKETS = (0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000)


class BroadcastStats:
    """`switchboard_events_out_total` and `switchboard_emit_fanout`, counted in plain ints.

    Every broadcast counts here: a notification burst makes tens of thousands
    a second, and a prometheus_client Counter plus Histogram (a lock and a few
    objects per call) was a tenth of the server's CPU. The event loop is the
    only writer; the registry reads the sums when it is scraped.
    """

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], int] = {}
        self.buckets = [0] * (len(FANOUT_BUCKETS) + 1)  # the last one is +Inf
        self.recipients = 0

    def record(self, namespace: str, event: str, recipients: int) -> None:
        key = (namespace, event)
        self.sent[key] = self.sent.get(key, 0) + 1
        self.buckets[bisect_left(FANOUT_BUCKETS, recipients)] += 1
        self.recipients += recipients

    def describe(self) -> Iterator[Metric]:
        return self._families()

    def collect(self) -> Iterator[Metric]:
        return self._families()

    def _families(self) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "switchboard_events_out", "Broadcasts sent", labels=["namespace", "event"]
        )
        for (namespace, event), n in list(self.sent.items()):
            sent.add_metric([namespace, event], n)
        yield sent
        cumulative, total = [], 0
        for bound, n in zip(
            [*map(floatToGoString, FANOUT_BUCKETS), "+Inf"], self.buckets, strict=True
        ):
            total += n
            cumulative.append((bound, float(total)))
        fanout = HistogramMetricFamily(
            "switchboard_emit_fanout", "Recipients per broadcast on this node"
        )
        fanout.add_metric([], cumulative, sum_value=float(self.recipients))
        yield fanout


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # `labels()` takes a lock and builds a key on every call; a connect
        # storm asks for the same few children thousands of times a second.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.connected_sockets = Gauge(
            "switchboard_connected_sockets", "Connected sockets", ["namespace"], registry=r
        )
        self.online_users = Gauge(
            "switchboard_online_users", "Users with at least one socket on this node", registry=r
        )
        self.events_in = Counter(
            "switchboard_events_in_total",
            "Client events received",
            ["namespace", "event"],
            registry=r,
        )
        self.broadcasts = BroadcastStats()
        r.register(self.broadcasts)
        self.latency = Histogram(
            "switchboard_handler_seconds",
            "Event handler latency",
            ["namespace", "event"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.rate_limited_events = Counter(
            "switchboard_rate_limited_total",
            "Events refused by the rate limit",
            ["namespace"],
            registry=r,
        )
        self.limit_refusals = Counter(
            "switchboard_limit_refusals_total",
            "Requests refused by an abuse limit (login, register, per-user messages)",
            ["limit"],
            registry=r,
        )
        self.slow_consumers = Counter(
            "switchboard_slow_consumer_disconnects_total",
            "Sockets disconnected for falling behind",
            registry=r,
        )
        self.recovery_attempts = Counter(
            "switchboard_recovery_attempts_total", "Connection state recovery attempts", registry=r
        )
        self.recovery_successes = Counter(
            "switchboard_recovery_successes_total",
            "Successful connection state recoveries",
            registry=r,
        )

        # Cluster and dependency health (issue 6): an outage shows here while it lasts.
        self.cluster_online_users = Gauge(
            "switchboard_cluster_online_users",
            "Users online on any node (cluster presence, refreshed every heartbeat)",
            registry=r,
        )
        self.redis_up = Gauge(
            "switchboard_redis_up",
            "1 while Redis answers, 0 during an outage",
            registry=r,
        )
        self.database_up = Gauge(
            "switchboard_database_up", "1 when the last database check succeeded", registry=r
        )
        self.dead_nodes_reaped = Counter(
            "switchboard_dead_nodes_reaped_total",
            "Nodes that stopped beating and whose sockets this node took offline",
            registry=r,
        )
        self.http_requests = Counter(
            "switchboard_http_requests_total",
            "HTTP responses by status class",
            ["status"],
            registry=r,
        )

    def _child(self, metric: M, *labels: str) -> M:
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = metric.labels(*labels)
            if len(self._children) < _MAX_CHILDREN:
                self._children[key] = child
        return cast(M, child)

    def socket_connected(self, namespace: str) -> None:
        self._child(self.connected_sockets, namespace).inc()

    def socket_disconnected(self, namespace: str) -> None:
        self._child(self.connected_sockets, namespace).dec()

    def online_users_changed(self, delta: int) -> None:
        self.online_users.inc(delta)

    def event_in(self, namespace: str, event: str) -> None:
        self._child(self.events_in, namespace, event[:64]).inc()

    def event_out(self, namespace: str, event: str, recipients: int) -> None:
        self.broadcasts.record(namespace, event, recipients)

    def http_response(self, status: int) -> None:
        self._child(self.http_requests, f"{status // 100}xx").inc()

    def handler_latency(self, namespace: str, event: str, seconds: float) -> None:
        self._child(self.latency, namespace, event[:64]).observe(seconds)

    def rate_limited(self, namespace: str) -> None:
        self._child(self.rate_limited_events, namespace).inc()

    def limit_refused(self, limit: str) -> None:
        self.limit_refusals.labels(limit).inc()

    def slow_consumer(self) -> None:
        self.slow_consumers.inc()

    def count_online_users(self, source: Callable[[], float]) -> None:
        """Read the per-node online-user gauge from `source` at scrape time.

        A cluster presence store reports transitions cluster-wide, so counting
        them here would drift; its local mirror knows the exact figure.
        """
        self.online_users.set_function(source)

    def render(self) -> bytes:
        return generate_latest(self.registry)
