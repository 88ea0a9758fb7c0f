"""What a process counts for Prometheus: one registry per process, its metrics named here.

Counters and histograms count what this process did (its redirects, the answers its
worker recorded, the receipts it stored); they start at zero with the process, as
Prometheus expects of counters. What the database holds (messages by state, planning
progress, webhooks waiting) is read at scrape time by `sender.results.operations`, so any
host reports the whole installation's figures.

Several `richsms serve --workers N` processes each count their own: scrape each (or
read the per-process figures behind the load balancer as samples).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Final, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY: Final = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

REDIRECTS: Final = Counter(
    "richsms_redirects",
    "Short-link requests answered, by HTTP status (302 a redirect, 200 a page served).",
    ["status"],
    registry=REGISTRY,
)
REDIRECT_SECONDS: Final = Histogram(
    "richsms_redirect_seconds",
    "Time to answer a short-link request, its click committed.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
MESSAGES_ANSWERED: Final = Counter(
    "richsms_messages_answered",
    "Messages handed to a provider, by provider and the state its answer left them in "
    "(sent, failed, queued for a retry, unknown).",
    ["provider", "state"],
    registry=REGISTRY,
)
RECEIPTS: Final = Counter(
    "richsms_receipts",
    "Delivery receipts received, by provider and what they did (applied, duplicate, "
    "pending: before the submit answer, ignored: not final).",
    ["provider", "outcome"],
    registry=REGISTRY,
)
RECEIPT_LAG_SECONDS: Final = Histogram(
    "richsms_receipt_lag_seconds",
    "From the final state a receipt reports to its being stored here.",
    ["provider"],
    buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 86400.0),
    registry=REGISTRY,
)


class ClickSource(Protocol):
    @property
    def waiting(self) -> int: ...

    written: int


class _Clicks(Collector):
    """The click writers of this process: clicks waiting for their commit, and written."""

    def __init__(self) -> None:
        self.writers: weakref.WeakSet[ClickSource] = weakref.WeakSet()

    def collect(self) -> Iterable[Metric]:
        writers = list(self.writers)
        yield GaugeMetricFamily(
            "richsms_clicks_waiting",
            "Clicks accepted and not committed yet (their redirects wait for them).",
            value=sum(w.waiting for w in writers),
        )
        yield CounterMetricFamily(
            "richsms_clicks_written",
            "Clicks committed by this process.",
            value=sum(w.written for w in writers),
        )


_CLICKS: Final = _Clicks()
REGISTRY.register(_CLICKS)


def watch_clicks(writer: ClickSource) -> None:
    """Count `writer`'s clicks (it is forgotten when it is garbage)."""
    _CLICKS.writers.add(writer)


def exposition(*database: Collector) -> bytes:
    """The text Prometheus reads: this process's registry, then `database` collectors
    (read now)."""
    text = generate_latest(REGISTRY)
    if database:
        extra = CollectorRegistry()
        for collector in database:
            extra.register(collector)
        text += generate_latest(extra)
    return text


class _Together(Collector):
    """This process's registry and the database's figures, as one registry serves them."""

    def __init__(self, database: Collector) -> None:
        self._database = database

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()
        yield from self._database.collect()


def serve_metrics(host: str, port: int, database: Collector) -> None:
    """Serve /metrics on `host:port` from a thread (`richsms worker --metrics-port`): the
    worker host's counters (answers, receipts) and the database's figures."""
    together = CollectorRegistry()
    together.register(_Together(database))
    start_http_server(port, addr=host, registry=together)
