"""``GET /metrics`` shows the storage actor's and the replay janitor's counters."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from tilemud.metrics import ServerMetrics
from tilemud.storage import StorageStats
from tilemud.storage.janitor import PurgeStats

from .test_http_metrics import get_metrics


async def test_storage_and_purge_counters_are_served() -> None:
    metrics = ServerMetrics()
    metrics.watch_storage(
        lambda: StorageStats(
            rows_written=10,
            batches=2,
            backlog=3,
            largest_backlog=8,
            rows_refused=1,
            rows_rejected=0,
            failures=4,
        )
    )
    last = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    metrics.watch_janitor(
        lambda: PurgeStats(runs=3, failed_runs=1, replays_purged=9, last_success=last)
    )
    status, _, _, body = await get_metrics(metrics)
    assert status == 200
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert values["tilemud_storage_rows_written_total"] == 10
    assert values["tilemud_storage_batches_total"] == 2
    assert values["tilemud_storage_backlog_rows"] == 3
    assert values["tilemud_storage_backlog_rows_max"] == 8
    assert values["tilemud_storage_rows_refused_total"] == 1
    assert values["tilemud_storage_rows_rejected_total"] == 0
    assert values["tilemud_storage_failures_total"] == 4
    assert values["tilemud_replays_purged_total"] == 9
    assert values["tilemud_replay_purge_runs_total"] == 3
    assert values["tilemud_replay_purge_failures_total"] == 1
    assert values["tilemud_replay_purge_last_success_timestamp_seconds"] == last.timestamp()


async def test_an_app_without_storage_serves_the_families_at_zero() -> None:
    _, _, _, body = await get_metrics(None)
    assert "tilemud_storage_backlog_rows 0.0" in body
    assert "tilemud_replays_purged_total 0.0" in body
