"""The server's own figures, read from its Prometheus endpoint (``GET /metrics``).

The load tester scrapes it once before the run and once after, and takes the difference,
so that figures are about this run only. It looks for:

- the tick duration: a family whose name has ``tick`` and ``duration``/``seconds``; from
  a histogram, percentiles are the upper bounds of the buckets they fall in (so an upper
  estimate); from quantile samples (a summary, or gauges labelled ``quantile``), the worst
  value over all arenas;
- dropped frames: counters whose name has ``drop``;
- every counter, summed over its labels, as it grew during the run.

A server without the endpoint (404) or with none of these families is reported as such:
the report never invents a figure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import attrs
import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


@attrs.frozen(kw_only=True)
class Family:
    """One metric family: its type and its samples."""

    name: str
    type: str
    samples: tuple[Sample, ...]


@attrs.frozen(kw_only=True)
class Scrape:
    """One reading of ``/metrics``: the families, or why there are none."""

    families: dict[str, Family] = attrs.field(factory=dict)
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.error is None


def parse_metrics(text: str) -> dict[str, Family]:
    """The families of a Prometheus text exposition."""
    return {
        family.name: Family(name=family.name, type=family.type, samples=tuple(family.samples))
        for family in text_string_to_metric_families(text)
    }


async def scrape(http: httpx.AsyncClient, url: str) -> Scrape:
    """GET ``url`` and parse it; never raises for a missing or broken endpoint."""
    try:
        response = await http.get(url)
    except httpx.HTTPError as exc:
        return Scrape(error=f"GET {url}: {type(exc).__name__}")
    if response.status_code != 200:
        return Scrape(error=f"GET {url}: HTTP {response.status_code}")
    try:
        return Scrape(families=parse_metrics(response.text))
    except ValueError as exc:
        return Scrape(error=f"GET {url}: not the Prometheus text format ({exc})")


def _to_ms(family_name: str, value: float) -> float:
    name = family_name.lower()
    if "microsecond" in name or name.endswith("_us"):
        return value / 1000.0
    if "millisecond" in name or name.endswith("_ms"):
        return value
    return value * 1000.0


def _is_tick_duration(name: str) -> bool:
    lowered = name.lower()
    return "tick" in lowered and any(w in lowered for w in ("duration", "seconds", "_ms", "_us"))


def tick_duration(before: Scrape, after: Scrape) -> dict[str, Any] | None:
    """The server's tick duration during the run (ms), or None if it does not export one."""
    for name, family in sorted(after.families.items()):
        if not _is_tick_duration(name):
            continue
        old = before.families.get(name)
        if family.type == "histogram":
            found = _histogram_quantiles(family, old)
        else:
            found = _quantile_samples(family)
        if found is not None:
            return {"metric": name, **found}
    return None


def _histogram_quantiles(family: Family, before: Family | None) -> dict[str, Any] | None:
    def by_bound(samples: Iterable[Sample]) -> dict[float, float]:
        counts: dict[float, float] = defaultdict(float)
        for sample in samples:
            if sample.name.endswith("_bucket") and "le" in sample.labels:
                counts[float(sample.labels["le"])] += sample.value
        return counts

    def total(samples: Iterable[Sample], suffix: str) -> float:
        return sum(s.value for s in samples if s.name.endswith(suffix))

    now = by_bound(family.samples)
    then = by_bound(before.samples) if before is not None else {}
    buckets = sorted((bound, count - then.get(bound, 0.0)) for bound, count in now.items())
    count = buckets[-1][1] if buckets else 0.0
    if count <= 0:
        return None
    old_sum = total(before.samples, "_sum") if before is not None else 0.0
    mean = (total(family.samples, "_sum") - old_sum) / count
    out: dict[str, Any] = {
        "source": "histogram buckets (upper bounds)",
        "count": int(count),
        "mean": round(_to_ms(family.name, mean), 3),
    }
    finite = [b for b, _ in buckets if not math.isinf(b)]
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        bound = next(b for b, c in buckets if c >= q * count)
        if math.isinf(bound):
            # Beyond the largest bucket: only a lower bound is known.
            out[label] = None
            out[f"{label}_above"] = round(_to_ms(family.name, finite[-1]), 3) if finite else None
        else:
            out[label] = round(_to_ms(family.name, bound), 3)
    return out


def _quantile_samples(family: Family) -> dict[str, Any] | None:
    worst: dict[str, float] = {}
    for sample in family.samples:
        quantile = sample.labels.get("quantile")
        if quantile is None or math.isnan(sample.value):
            continue
        q = float(quantile)
        label = "max" if q >= 1.0 else f"p{q * 100:g}"
        worst[label] = max(worst.get(label, 0.0), _to_ms(family.name, sample.value))
    if not worst:
        return None
    return {"source": "quantiles (worst arena)", **{k: round(v, 3) for k, v in worst.items()}}


def counter_delta(before: Scrape, after: Scrape, word: str = "") -> dict[str, float]:
    """How much each counter whose name contains ``word`` grew during the run.

    Each counter is summed over its labels (``mode``, ``outcome`` ...).
    """
    grew: dict[str, float] = {}
    for name, family in sorted(after.families.items()):
        if family.type != "counter" or word not in name.lower():
            continue
        old = before.families.get(name)
        old_total = sum(s.value for s in old.samples if s.name.endswith("_total")) if old else 0
        new_total = sum(s.value for s in family.samples if s.name.endswith("_total"))
        grew[name] = new_total - old_total
    return grew


def gauges(after: Scrape, word: str) -> dict[str, float]:
    """The value at the end of the run of each gauge whose name contains ``word``."""
    return {
        name: sum(s.value for s in family.samples)
        for name, family in sorted(after.families.items())
        if family.type == "gauge" and word in name.lower()
    }


def server_metrics(before: Scrape, after: Scrape) -> dict[str, Any]:
    """What the report shows of the server's own metrics."""
    if not after.available:
        return {"available": False, "reason": after.error}
    return {
        "available": True,
        "families": len(after.families),
        "tick_duration_ms": tick_duration(before, after),
        "dropped": counter_delta(before, after, "drop"),
        "counters": counter_delta(before, after),
        "storage_gauges": gauges(after, "storage"),
    }
