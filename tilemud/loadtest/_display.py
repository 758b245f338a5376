"""The live progress display: one updating line on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import Final, TextIO

from tilemud.loadtest._aggregate import RunAggregate
from tilemud.loadtest._tally import ACTION, BROADCAST

#: Seconds between two plain lines when the output is not a terminal.
PLAIN_EVERY: Final = 5


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"


def progress_line(aggregate: RunAggregate, second: int, players: int) -> str:
    """The state of the run at ``second``, on one line."""
    totals = aggregate.totals_at(second)
    previous = aggregate.totals_at(second - 1) if second > 1 else dict.fromkeys(totals, 0)
    interval = aggregate.interval(second)
    broadcast = interval.get(BROADCAST)
    action = interval.get(ACTION)
    return (
        f"t={second:>4}s  seated {totals['seated']:>4}/{players}"
        f"  connected {totals['connected']:>4}"
        f"  actions/s {totals['places_sent'] - previous['places_sent']:>5}"
        f"  frames/s {totals['frames'] - previous['frames']:>6}"
        f"  p95 broadcast {_ms(broadcast.percentile_ms(95) if broadcast else None):>9}"
        f"  p95 action {_ms(action.percentile_ms(95) if action else None):>9}"
        f"  errors {totals['errors']}"
    )


class LiveDisplay:
    """Shows the run's progress on ``out`` as seconds complete.

    Args:
        out: where to write (standard error by default in the CLI).
        players: bots asked for, shown as the denominator.
        interactive: one updating line (a terminal) or a plain line every few seconds;
            defaults to ``out.isatty()``.
    """

    def __init__(self, out: TextIO, *, players: int, interactive: bool | None = None) -> None:
        self._out = out
        self._players = players
        self._interactive = out.isatty() if interactive is None else interactive
        self._shown = 0
        self._open_line = False

    def refresh(self, aggregate: RunAggregate) -> None:
        """Show the latest second every worker has reported, if it is new."""
        second = aggregate.latest_complete_second()
        if second is None or second <= self._shown:
            return
        self._shown = second
        line = progress_line(aggregate, second, self._players)
        if self._interactive:
            self._out.write(f"\r{line}\x1b[K")
            self._open_line = True
        elif second % PLAIN_EVERY == 0:
            self._out.write(line + "\n")
        self._out.flush()

    def message(self, text: str) -> None:
        """A line of its own (a phase change, a warning)."""
        self.close()
        self._out.write(text + "\n")
        self._out.flush()

    def close(self) -> None:
        """End the updating line, if one is open."""
        if self._open_line:
            self._out.write("\n")
            self._out.flush()
            self._open_line = False
