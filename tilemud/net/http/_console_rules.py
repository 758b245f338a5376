"""The console's rule configs (admin): each mode's versions and where each is in force, a
new version made from an existing one, the diff of two, activation per mode and region,
rollback.

The same storage calls as the JSON API's ``/v1/admin/rules/`` routes, under the same lock
(``changing``: this node's activations and new versions go one at a time); the rules
judge a new version themselves (``RuleConfigError``, shown with its message). A new
version's changes are typed one per line as ``field = value``, each value JSON (``20``,
``true``, ``[{"name": "stone", "points": 1}]``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Final, TypeVar, get_args
from urllib.parse import urlencode

import orjson
import trio
from quart import Response, request
from quart_trio import QuartTrio

from tilemud.game import Mode, RuleConfigError
from tilemud.net.http._admin_rules import rule_changes
from tilemud.net.http._console_door import ConsoleDoor, Refused, see_other
from tilemud.net.http._console_moderation import whole_number, within
from tilemud.storage import RecordConflict, RecordNotFound, RecordRejected, RuleStorage

MODES: Final = get_args(Mode)
#: Longest reason kept.
MAX_REASON: Final = 1000

T = TypeVar("T")


def add_rule_pages(
    app: QuartTrio,
    door: ConsoleDoor,
    *,
    rules: RuleStorage,
    regions: Sequence[str],
    changing: trio.Lock,
) -> None:
    """Serve the rule-config pages (admin only)."""

    async def judged(work: Awaitable[T]) -> T:
        try:
            return await within(work)
        except RecordNotFound as exc:
            raise Refused(404, exc.message) from None
        except RecordConflict as exc:
            raise Refused(409, f"{exc.code}: {exc.message}") from None
        except RecordRejected as exc:
            raise Refused(409, f"changed meanwhile, try again: {exc}") from None
        except RuleConfigError as exc:
            raise Refused(400, f"{exc.code}: {exc.message}") from None

    async def versions(mode: str) -> Response:
        session = door.visitor("admin")
        _known(mode)
        found = await judged(rules.list_versions(mode))
        first = whole_number(request.args.get("from"), None)
        second = whole_number(request.args.get("to"), None)
        diff = None
        if first is not None and second is not None:
            by_number = {v.number: v for v in found}
            if first not in by_number or second not in by_number:
                raise Refused(404, f"no version {first} or {second} of the {mode} rules")
            diff = rule_changes(by_number[first], by_number[second])
        return await door.page(
            "rules.html",
            session,
            mode=mode,
            modes=MODES,
            versions=found,
            regions=regions,
            diff=diff,
            diff_from=first,
            diff_to=second,
            notice=request.args.get("done"),
            shown=lambda value: orjson.dumps(value).decode(),
        )

    async def create(mode: str) -> Response:
        session, form = await door.checked_form("admin")
        _known(mode)
        based_on = whole_number(form.get("from_version"), None)
        if based_on is None:
            raise Refused(400, "choose the version to start from")
        changes = _changes(form.get("changes", ""))
        reason = _reason(form.get("reason", ""))
        async with changing:
            made = await judged(
                rules.add_version(
                    mode=mode,
                    based_on=based_on,
                    changes=changes,
                    author=session.user.subject,
                    reason=reason,
                )
            )
        return _done(mode, f"version {made.number} made from version {based_on}")

    async def switch(
        mode: str, number: int | None, what: str
    ) -> Response:  # an activation (number) or a rollback (None)
        session, form = await door.checked_form("admin")
        _known(mode)
        region = _region(form.get("region", ""), regions)
        reason = _reason(form.get("reason", ""))
        actor = session.user.subject
        async with changing:
            if number is None:
                done = rules.roll_back(mode=mode, region=region, actor=actor, reason=reason)
            else:
                done = rules.activate(
                    mode=mode, region=region, number=number, actor=actor, reason=reason
                )
            switched = await judged(done)
        where = "every region" if switched.region is None else switched.region
        return _done(mode, f"{what}version {switched.number} in force in {where}")

    async def activate(mode: str, number: str) -> Response:
        wanted = whole_number(number, None)
        if wanted is None:
            raise Refused(404, f"no version {number!r}")
        return await switch(mode, wanted, "")

    async def roll_back(mode: str) -> Response:
        return await switch(mode, None, "rolled back: ")

    async def first_mode() -> Response:
        door.visitor("admin")
        return see_other(f"/console/rules/{MODES[0]}")

    app.add_url_rule("/console/rules", "console_rules_home", first_mode, methods=["GET"])
    app.add_url_rule("/console/rules/<mode>", "console_rules", versions, methods=["GET"])
    app.add_url_rule("/console/rules/<mode>", "console_rules_create", create, methods=["POST"])
    app.add_url_rule(
        "/console/rules/<mode>/rollback", "console_rules_rollback", roll_back, methods=["POST"]
    )
    app.add_url_rule(
        "/console/rules/<mode>/<number>/activate",
        "console_rules_activate",
        activate,
        methods=["POST"],
    )


def _known(mode: str) -> None:
    if mode not in MODES:
        raise Refused(404, f"no mode {mode!r}: {' or '.join(MODES)}")


def _changes(text: str) -> dict[str, Any]:
    """``field = value`` lines (values in JSON) as a dict of changes."""
    changes: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        field, equals, raw = line.partition("=")
        if not equals or not field.strip():
            raise Refused(400, f"line {number}: write field = value")
        try:
            changes[field.strip()] = orjson.loads(raw.strip())
        except orjson.JSONDecodeError:
            raise Refused(
                400, f"line {number}: the value is not JSON: {raw.strip()[:60]!r}"
            ) from None
    if not changes:
        raise Refused(400, "change at least one field")
    return changes


def _reason(raw: str) -> str:
    reason = raw.strip()
    if not reason or len(reason) > MAX_REASON:
        raise Refused(400, f"give a reason (1 to {MAX_REASON} characters)")
    return reason


def _region(raw: str, regions: Sequence[str]) -> str | None:
    if not raw:
        return None
    if raw not in regions:
        raise Refused(400, f"no region {raw!r}; this server has {', '.join(regions)}")
    return raw


def _done(mode: str, what: str) -> Response:
    return see_other(f"/console/rules/{mode}?" + urlencode({"done": what}))
