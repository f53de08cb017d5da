"""Prometheus metrics, one registry per app (two apps in one process stay apart)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

M = TypeVar("M", Counter, Gauge)

# Labelled children kept at hand; past this many, `labels()` is asked each time.
_MAX_CHILDREN = 10_000


FANOUT_BUCKETS = (0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class PlainHistogram:
    """A Prometheus histogram's counts in plain ints: no lock, no object per observation."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def add_to(self, family: HistogramMetricFamily, labels: list[str]) -> None:
        cumulative, running = [], 0
        for bound, n in zip([*map(floatToGoString, self.bounds), "+Inf"], self.counts, strict=True):
            running += n
            cumulative.append((bound, float(running)))
        family.add_metric(labels, cumulative, sum_value=self.total)


_LABELS = ["namespace", "event"]


def _count(counts: dict[tuple[str, str], int], key: tuple[str, str]) -> None:
    counts[key] = counts.get(key, 0) + 1


def _counter_family(name: str, doc: str, counts: dict[tuple[str, str], int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=_LABELS)
    for (namespace, event), n in list(counts.items()):
        family.add_metric([namespace, event], n)
    return family


class PlainStats:
    """Per-event counters and histograms kept in plain ints, read when the registry is scraped.

    Every client event and every broadcast counts here: a busy node counts
    tens of thousands a second, and a prometheus_client Counter or Histogram
    (a lock and a few objects per call) was a tenth of the server's CPU. The
    event loop is the only writer. Label values are bounded by the callers
    (known event names; one label for unknown ones).
    """

    def __init__(self) -> None:
        self.events_in: dict[tuple[str, str], int] = {}
        self.latency: dict[tuple[str, str], PlainHistogram] = {}
        self.events_out: dict[tuple[str, str], int] = {}
        self.fanout = PlainHistogram(FANOUT_BUCKETS)

    def event_in(self, namespace: str, event: str) -> None:
        _count(self.events_in, (namespace, event))

    def handler_latency(self, namespace: str, event: str, seconds: float) -> None:
        key = (namespace, event)
        histogram = self.latency.get(key)
        if histogram is None:
            histogram = self.latency[key] = PlainHistogram(LATENCY_BUCKETS)
        histogram.observe(seconds)

    def event_out(self, namespace: str, event: str, recipients: int) -> None:
        _count(self.events_out, (namespace, event))
        self.fanout.observe(recipients)

    def describe(self) -> Iterator[Metric]:
        return self._families()

    def collect(self) -> Iterator[Metric]:
        return self._families()

    def _families(self) -> Iterator[Metric]:
        yield _counter_family("switchboard_events_in", "Client events received", self.events_in)
        latency = HistogramMetricFamily(
            "switchboard_handler_seconds", "Event handler latency", labels=_LABELS
        )
        for (namespace, event), histogram in list(self.latency.items()):
            histogram.add_to(latency, [namespace, event])
        yield latency
        yield _counter_family("switchboard_events_out", "Broadcasts sent", self.events_out)
        fanout = HistogramMetricFamily(
            "switchboard_emit_fanout", "Recipients per broadcast on this node"
        )
        self.fanout.add_to(fanout, [])
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
        self.stats = PlainStats()
        r.register(self.stats)
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
        self.stats.event_in(namespace, event[:64])

    def event_out(self, namespace: str, event: str, recipients: int) -> None:
        self.stats.event_out(namespace, event, recipients)

    def http_response(self, status: int) -> None:
        self._child(self.http_requests, f"{status // 100}xx").inc()

    def handler_latency(self, namespace: str, event: str, seconds: float) -> None:
        self.stats.handler_latency(namespace, event[:64], seconds)

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
