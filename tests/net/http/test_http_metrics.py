"""``GET /metrics`` through Quart's in-process test client, and its OpenAPI entry."""

from __future__ import annotations

from typing import cast

from prometheus_client.parser import text_string_to_metric_families
from quart.testing import QuartClient

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, Settings
from tilemud.metrics import CONTENT_TYPE, GatewayLoad, ServerMetrics
from tilemud.net.http import HealthReport, create_app, openapi_document

SECRET = "metrics-route-tests-" + "k" * 40


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True, details={})


async def get_metrics(metrics: ServerMetrics | None) -> tuple[int, str, str, str]:
    auth = AuthSettings(secret=SECRET)
    app = create_app(
        settings=Settings(auth=auth), tokens=TokenAuthority(auth), health=UpProbe(), metrics=metrics
    )
    client = cast(QuartClient, app.test_client())
    response = await client.get("/metrics")
    body = await response.get_data(as_text=True)
    return (
        response.status_code,
        response.headers["Content-Type"],
        response.headers.get("Cache-Control", ""),
        body,
    )


async def test_metrics_are_served_in_the_prometheus_text_format() -> None:
    metrics = ServerMetrics()
    metrics.session.action("join", "accepted")
    metrics.watch_gateway(lambda: GatewayLoad(players_connected=7))
    status, content_type, cache_control, body = await get_metrics(metrics)
    assert status == 200
    assert content_type == CONTENT_TYPE
    assert cache_control == "no-store"
    families = {family.name: family for family in text_string_to_metric_families(body)}
    assert families["tilemud_players_connected"].samples[0].value == 7
    joined = [
        sample
        for sample in families["tilemud_actions"].samples
        if sample.labels == {"action": "join", "outcome": "accepted"}
        and sample.name == "tilemud_actions_total"
    ]
    assert [sample.value for sample in joined] == [1]
    assert "process_cpu_seconds" in families


async def test_an_app_without_a_server_serves_metrics_of_its_own() -> None:
    status, _, _, body = await get_metrics(None)
    assert status == 200
    assert "tilemud_players_connected 0.0" in body


def test_metrics_are_documented_as_text() -> None:
    operation = openapi_document(version="test")["paths"]["/metrics"]["get"]
    assert operation["operationId"] == "getMetrics"
    ok = operation["responses"]["200"]["content"]
    assert CONTENT_TYPE.split(";")[0] in ok
