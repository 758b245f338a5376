"""The storage and replay-purge families of the metrics, read at scrape time."""

from __future__ import annotations

import datetime as dt

import attrs
from prometheus_client.parser import text_string_to_metric_families

from tilemud.metrics import ServerMetrics
from tilemud.storage import StorageStats
from tilemud.storage.janitor import PurgeStats

#: Every family these watches expose, with its type (as the text parser names it).
FAMILIES = {
    "tilemud_storage_rows_written": "counter",
    "tilemud_storage_batches": "counter",
    "tilemud_storage_backlog_rows": "gauge",
    "tilemud_storage_backlog_rows_max": "gauge",
    "tilemud_storage_rows_refused": "counter",
    "tilemud_storage_rows_rejected": "counter",
    "tilemud_storage_failures": "counter",
    "tilemud_replays_purged": "counter",
    "tilemud_replay_purge_runs": "counter",
    "tilemud_replay_purge_failures": "counter",
    "tilemud_replay_purge_last_success_timestamp_seconds": "gauge",
}

#: The sample each family shows (counters get their ``_total``).
SAMPLES = {name + ("_total" if kind == "counter" else ""): name for name, kind in FAMILIES.items()}

STATS = StorageStats(
    rows_written=1200,
    batches=7,
    backlog=30,
    largest_backlog=512,
    rows_refused=4,
    rows_rejected=2,
    failures=3,
)


def samples(metrics: ServerMetrics) -> dict[str, float]:
    text = metrics.exposition().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in SAMPLES
    }


def test_the_families_exist_at_zero_before_anything_is_watched() -> None:
    text = ServerMetrics(process=False).exposition().decode()
    kinds = {family.name: family.type for family in text_string_to_metric_families(text)}
    for name, kind in FAMILIES.items():
        assert kinds.get(name) == kind, name
    assert samples(ServerMetrics(process=False)) == dict.fromkeys(SAMPLES, 0)


def test_storage_counters_are_read_at_every_scrape() -> None:
    metrics = ServerMetrics(process=False)
    readings = [STATS, attrs.evolve(STATS, backlog=0, rows_written=1230)]
    reads: list[StorageStats] = []

    def read() -> StorageStats:
        reads.append(readings[len(reads)])
        return reads[-1]

    metrics.watch_storage(read)
    first = samples(metrics)
    assert first["tilemud_storage_rows_written_total"] == 1200
    assert first["tilemud_storage_batches_total"] == 7
    assert first["tilemud_storage_backlog_rows"] == 30
    assert first["tilemud_storage_backlog_rows_max"] == 512
    assert first["tilemud_storage_rows_refused_total"] == 4
    assert first["tilemud_storage_rows_rejected_total"] == 2
    assert first["tilemud_storage_failures_total"] == 3
    assert first["tilemud_replays_purged_total"] == 0  # the janitor is not watched
    second = samples(metrics)
    assert second["tilemud_storage_rows_written_total"] == 1230
    assert second["tilemud_storage_backlog_rows"] == 0
    assert len(reads) == 2


def test_the_janitors_counters_are_read_at_every_scrape() -> None:
    metrics = ServerMetrics(process=False)
    last = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    stats = PurgeStats(runs=5, failed_runs=2, replays_purged=130, last_success=last)
    metrics.watch_janitor(lambda: stats)
    seen = samples(metrics)
    assert seen["tilemud_replays_purged_total"] == 130
    assert seen["tilemud_replay_purge_runs_total"] == 5
    assert seen["tilemud_replay_purge_failures_total"] == 2
    assert seen["tilemud_replay_purge_last_success_timestamp_seconds"] == last.timestamp()
    assert seen["tilemud_storage_rows_written_total"] == 0  # storage is not watched


def test_two_servers_watch_their_own_storage() -> None:
    first, second = ServerMetrics(process=False), ServerMetrics(process=False)
    first.watch_storage(lambda: STATS)
    assert samples(first)["tilemud_storage_failures_total"] == 3
    assert samples(second)["tilemud_storage_failures_total"] == 0
