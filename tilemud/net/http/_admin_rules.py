"""The admin API's rule configs (admin only): versions per mode, a new version made from
an existing one, the diff of two, activation per mode and region, rollback.

docs/console.md ("Rule configs") describes the routes; ``_admin_openapi_more`` documents
them. The rules themselves judge a new version (``RuleConfig``'s own validation, answered
400 ``bad_rule_config`` with its message). Storage writes every change and its audit
record in one transaction. Activations and new versions of this node go one at a time (a
lock), so two at once both succeed in some order; across nodes the database's unique
index keeps one version in force per mode and region, and the loser gets 409 ``conflict``.
New arenas ask storage for the version in force when they open (``server.ActiveRules``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar, get_args

import trio
from quart import Response
from quart_trio import QuartTrio

from tilemud.auth import TokenAuthority
from tilemud.errors import ProtocolError
from tilemud.game import Mode, RuleConfigError
from tilemud.net.http._admin import _NO_STORE, _int_arg, _not_stored, _within
from tilemud.net.http._admin_access import claims_with_role, json_object
from tilemud.net.http._responses import error_response, json_response
from tilemud.storage import (
    RecordConflict,
    RecordNotFound,
    RecordRejected,
    RuleActivation,
    RuleStorage,
    RuleSwitch,
    RuleVersion,
)

_MODES: Final = get_args(Mode)
_MAX_VERSION: Final = 2**31 - 1

T = TypeVar("T")


def add_rule_routes(
    app: QuartTrio,
    *,
    tokens: TokenAuthority,
    storage: RuleStorage | None,
    regions: Sequence[str],
    changing: trio.Lock,
) -> None:
    """Serve ``/v1/admin/rules/...`` on ``app`` (see the module docstring).

    Args:
        tokens: verifies the callers' tokens (the ``admin`` role is needed).
        storage: rule versions; None (no database): 404 ``admin_not_stored``.
        regions: the regions an activation may name (``world.regions``).
        changing: held while a version is made or activated (shared with the console).
    """

    async def guarded(mode: str, work: Callable[[RuleStorage], Awaitable[T]]) -> T | Response:
        if mode not in _MODES:
            return _no_mode(mode)
        if storage is None:
            return _not_stored()
        try:
            done: T = await _within(work(storage))
            return done
        except RecordNotFound as exc:
            return error_response(404, "not_found", exc.message)
        except RecordConflict as exc:
            return error_response(409, exc.code, exc.message)
        except RecordRejected as exc:
            return error_response(409, "conflict", f"changed meanwhile, try again: {exc}")
        except RuleConfigError as exc:
            return error_response(400, exc.code, exc.message)

    async def list_versions(mode: str) -> Response:
        claims_with_role(tokens, "admin")
        found = await guarded(mode, lambda s: s.list_versions(mode))
        if isinstance(found, Response):
            return found
        active = [
            {"region": period.region, "version": version.number}
            for version in found
            for period in version.activations
            if period.active_to is None
        ]
        body = {"mode": mode, "versions": [_version(v) for v in found], "active": active}
        return json_response(body, headers=_NO_STORE)

    async def get_version(mode: str, number: str) -> Response:
        claims_with_role(tokens, "admin")
        wanted = _number(number)
        if wanted is None:
            return _no_version(mode, number)
        found = await guarded(mode, lambda s: s.load_version(mode, wanted))
        if isinstance(found, Response):
            return found
        return json_response(_version(found), headers=_NO_STORE)

    async def create_version(mode: str) -> Response:
        claims = claims_with_role(tokens, "admin")
        body = await json_object({"from_version": int, "changes": dict, "reason": str})
        reason = _reason(body["reason"])
        if not 1 <= body["from_version"] <= _MAX_VERSION:
            return _no_version(mode, str(body["from_version"]))

        async def create(s: RuleStorage) -> RuleVersion:
            async with changing:
                return await s.add_version(
                    mode=mode,
                    based_on=body["from_version"],
                    changes=body["changes"],
                    author=claims.player_id,
                    reason=reason,
                )

        made = await guarded(mode, create)
        if isinstance(made, Response):
            return made
        return json_response(_version(made), status=201, headers=_NO_STORE)

    async def diff_versions(mode: str) -> Response:
        claims_with_role(tokens, "admin")
        first = _int_arg("from", None, 1, _MAX_VERSION)
        second = _int_arg("to", None, 1, _MAX_VERSION)
        if first is None or second is None:
            return error_response(400, "bad_request", "give both from and to (version numbers)")

        async def both(s: RuleStorage) -> tuple[RuleVersion, RuleVersion]:
            return await s.load_version(mode, first), await s.load_version(mode, second)

        found = await guarded(mode, both)
        if isinstance(found, Response):
            return found
        changes = [
            {"field": field, "from": before, "to": after}
            for field, before, after in rule_changes(*found)
        ]
        body = {"mode": mode, "from": first, "to": second, "changes": changes}
        return json_response(body, headers=_NO_STORE)

    async def activate(mode: str, number: str) -> Response:
        claims = claims_with_role(tokens, "admin")
        body = await json_object({"reason": str}, {"region": str})
        reason, region = _reason(body["reason"]), _region(body.get("region"), regions)
        wanted = _number(number)
        if wanted is None:
            return _no_version(mode, number)

        async def switch(s: RuleStorage) -> RuleSwitch:
            async with changing:
                return await s.activate(
                    mode=mode, region=region, number=wanted, actor=claims.player_id, reason=reason
                )

        return _switched(await guarded(mode, switch))

    async def roll_back(mode: str) -> Response:
        claims = claims_with_role(tokens, "admin")
        body = await json_object({"reason": str}, {"region": str})
        reason, region = _reason(body["reason"]), _region(body.get("region"), regions)

        async def switch(s: RuleStorage) -> RuleSwitch:
            async with changing:
                return await s.roll_back(
                    mode=mode, region=region, actor=claims.player_id, reason=reason
                )

        return _switched(await guarded(mode, switch))

    base = "/v1/admin/rules/<mode>"
    app.add_url_rule(base, "admin_rules", list_versions, methods=["GET"])
    app.add_url_rule(base, "admin_rules_create", create_version, methods=["POST"])
    app.add_url_rule(f"{base}/diff", "admin_rules_diff", diff_versions, methods=["GET"])
    app.add_url_rule(f"{base}/rollback", "admin_rules_rollback", roll_back, methods=["POST"])
    app.add_url_rule(f"{base}/<number>", "admin_rules_version", get_version, methods=["GET"])
    app.add_url_rule(
        f"{base}/<number>/activate", "admin_rules_activate", activate, methods=["POST"]
    )


def rule_changes(old: RuleVersion, new: RuleVersion) -> list[tuple[str, Any, Any]]:
    """The fields whose values differ between two versions, in config order:
    ``(field, old value, new value)``."""
    before, after = old.rules.to_dict(), new.rules.to_dict()
    return [
        (field, before.get(field), after.get(field))
        for field in dict.fromkeys([*before, *after])
        if before.get(field) != after.get(field)
    ]


def _reason(raw: str) -> str:
    reason = raw.strip()
    if not reason:
        raise _bad("give a reason")
    if len(reason) > 1000:
        raise _bad("the reason is longer than 1000 characters")
    return reason


def _region(raw: str | None, regions: Sequence[str]) -> str | None:
    if raw is not None and raw not in regions:
        raise _bad(f"no region {raw!r}; this server has {', '.join(regions)}")
    return raw


def _bad(message: str) -> ProtocolError:
    return ProtocolError(message, code="bad_request")


def _number(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= _MAX_VERSION:
        return None
    return int(raw)


def _no_mode(mode: str) -> Response:
    return error_response(404, "not_found", f"no mode {mode!r}: battle or arena")


def _no_version(mode: str, number: str) -> Response:
    return error_response(404, "not_found", f"no version {number!r} of the {mode} rules")


def _switched(done: RuleSwitch | Response) -> Response:
    if isinstance(done, Response):
        return done
    body = {
        "mode": done.mode,
        "region": done.region,
        "version": done.number,
        "content_hash": done.content_hash,
        "previous": done.previous,
    }
    return json_response(body, headers=_NO_STORE)


def _version(version: RuleVersion) -> dict[str, Any]:
    return {
        "mode": version.mode,
        "version": version.number,
        "content_hash": version.content_hash,
        "based_on": version.based_on,
        "author": version.author,
        "reason": version.reason,
        "created_at": version.created.isoformat(),
        "rules": version.rules.to_dict(),
        "activations": [_period(period) for period in version.activations],
    }


def _period(period: RuleActivation) -> dict[str, Any]:
    return {
        "region": period.region,
        "active_from": period.active_from.isoformat(),
        "active_to": None if period.active_to is None else period.active_to.isoformat(),
        "activated_by": period.activated_by,
        "reason": period.reason,
    }
