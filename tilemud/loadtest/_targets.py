"""The seed's performance targets, and how one run measured against them.

| target | goal |
|---|---|
| broadcast latency (server ``sent_at`` → bot) | p95 < 200 ms |
| conflict tick (the server's tick duration) | p99 ≤ 100 ms |
| join handshake (guest login → ``joined``) | p95 < 1 s |
| one epic arena | 300 players, < 5 % of stream frames dropped |

A target the run could not measure (no ``/metrics``; fewer than 300 players in one arena)
is ``n/a`` with the reason, never a pass.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias

import attrs

Verdict: TypeAlias = Literal["pass", "fail", "n/a"]

BROADCAST_P95_MS: Final = 200.0
TICK_MS: Final = 100.0
JOIN_P95_MS: Final = 1000.0
EPIC_PLAYERS: Final = 300
DROP_RATE: Final = 0.05


@attrs.frozen(kw_only=True)
class TargetRow:
    """One line of the targets table."""

    name: str
    goal: str
    measured: str
    verdict: Verdict
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return attrs.asdict(self)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms"


def _below(value: float | None, limit: float, *, inclusive: bool = False) -> Verdict:
    if value is None:
        return "n/a"
    ok = value <= limit if inclusive else value < limit
    return "pass" if ok else "fail"


def evaluate_targets(
    *,
    broadcast_p95_ms: float | None,
    tick_ms: dict[str, Any] | None,
    tick_note: str,
    join_p95_ms: float | None,
    largest_arena: int,
    drop_rate: float | None,
) -> list[TargetRow]:
    """The targets table of one run.

    Args:
        broadcast_p95_ms: p95 of the broadcast latency.
        tick_ms: the server's tick duration (``p95``, ``p99``, ``max`` in ms), if exported.
        tick_note: why the tick duration is missing, when it is.
        join_p95_ms: p95 of the join handshake.
        largest_arena: the most bots seated in one arena.
        drop_rate: frames never received over frames sent, over every bot.
    """
    rows = [
        TargetRow(
            name="broadcast latency p95",
            goal=f"< {BROADCAST_P95_MS:g} ms",
            measured=_ms(broadcast_p95_ms),
            verdict=_below(broadcast_p95_ms, BROADCAST_P95_MS),
            note="" if broadcast_p95_ms is not None else "no broadcast frame received",
        ),
        _tick_row(tick_ms, tick_note),
        TargetRow(
            name="join handshake p95",
            goal=f"< {JOIN_P95_MS / 1000:g} s",
            measured=_ms(join_p95_ms),
            verdict=_below(join_p95_ms, JOIN_P95_MS),
            note="guest login to joined" if join_p95_ms is not None else "no bot joined",
        ),
    ]
    measured = "-" if drop_rate is None else f"{largest_arena} players, {drop_rate:.2%} dropped"
    if drop_rate is None:
        verdict: Verdict = "n/a"
        note = "no stream frame was sent"
    elif largest_arena < EPIC_PLAYERS:
        verdict, note = "n/a", f"needs {EPIC_PLAYERS} players in one arena"
    else:
        verdict, note = ("pass" if drop_rate < DROP_RATE else "fail"), ""
    rows.append(
        TargetRow(
            name="epic arena",
            goal=f"{EPIC_PLAYERS} players, < {DROP_RATE:.0%} dropped",
            measured=measured,
            verdict=verdict,
            note=note,
        )
    )
    return rows


def _tick_row(tick_ms: dict[str, Any] | None, note: str) -> TargetRow:
    name, goal = "conflict tick p99", f"<= {TICK_MS:g} ms"
    if tick_ms is None:
        return TargetRow(name=name, goal=goal, measured="-", verdict="n/a", note=note)
    value = tick_ms.get("p99", tick_ms.get("p95"))
    above = tick_ms.get("p99_above")
    worst, worst_above = tick_ms.get("max"), tick_ms.get("max_above")
    if isinstance(worst, int | float):
        extra = f" (max {worst:,.1f} ms)"
    elif isinstance(worst_above, int | float):
        extra = f" (max > {worst_above:,.1f} ms)"
    else:
        extra = ""
    verdict: Verdict
    if value is None and isinstance(above, int | float):
        # p99 beyond the largest bucket: only known to be above it.
        measured = f"> {above:,.1f} ms"
        verdict = "fail" if above >= TICK_MS else "n/a"
    else:
        measured, verdict = _ms(value), _below(value, TICK_MS, inclusive=True)
    return TargetRow(
        name=name,
        goal=goal,
        measured=measured + extra,
        verdict=verdict,
        note=f"server metric {tick_ms.get('metric', '?')}",
    )


def render_targets(rows: list[TargetRow]) -> str:
    """The table as aligned text."""
    header = ("target", "goal", "measured", "verdict", "note")
    lines = [header, *((r.name, r.goal, r.measured, r.verdict.upper(), r.note) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
