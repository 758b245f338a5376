"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, Settings
from tilemud.net.http import ERROR_CODES, HealthReport, create_app, openapi_document

# Methods Quart answers by itself on every rule; they need no documentation.
_AUTOMATIC = {"HEAD", "OPTIONS"}
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True, details={})


def served_operations() -> set[tuple[str, str]]:
    auth = AuthSettings(secret="openapi-tests-" + "k" * 40)
    app = create_app(settings=Settings(auth=auth), tokens=TokenAuthority(auth), health=UpProbe())
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console/"):
            continue  # the browser console's HTML pages are not the API (docs/console.md)
        # Werkzeug's "/x/<int:id>" is OpenAPI's "/x/{id}".
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - _AUTOMATIC:
            operations.add((path, method.lower()))
    return operations


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in _HTTP_METHODS
    }


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def test_every_route_is_documented_and_nothing_else() -> None:
    served = served_operations()
    documented = documented_operations(openapi_document(version="test"))
    assert served, "the app has no routes?"
    assert served - documented == set(), "routes missing from the OpenAPI document"
    assert documented - served == set(), "documented operations the app does not serve"


def test_document_is_openapi_3_1_and_json() -> None:
    document = openapi_document(version="9.9.9")
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == "9.9.9"
    assert orjson.loads(orjson.dumps(document)) == document


def test_every_reference_resolves() -> None:
    document = openapi_document(version="test")
    found = list(refs(document))
    assert found
    for ref in found:
        assert ref.startswith("#/")
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part]
        assert isinstance(node, dict)


def test_every_operation_documents_its_errors() -> None:
    document = openapi_document(version="test")
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            operation_ids.append(operation["operationId"])
            responses = operation["responses"]
            assert "default" in responses
            for status, response in responses.items():
                if (path, status) in {("/healthz", "503"), ("/readyz", "503")}:
                    continue  # a health or readiness report, not an error
                if status == "default" or status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}
                else:  # a success: JSON, or text where the route says so (/metrics)
                    assert response["content"], (path, status)
    assert len(operation_ids) == len(set(operation_ids))


def test_error_schema_lists_every_code() -> None:
    document = openapi_document(version="test")
    error = document["components"]["schemas"]["Error"]["properties"]["error"]
    description = error["properties"]["code"]["description"]
    for code in ERROR_CODES:
        assert code in description


def test_documents_are_independent_copies() -> None:
    first = openapi_document(version="test")
    first["paths"]["/healthz"]["get"]["summary"] = "changed"
    assert openapi_document(version="test")["paths"]["/healthz"]["get"]["summary"] != "changed"
