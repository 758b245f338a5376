"""The replay document: written from a stored replay, read back strictly, re-simulated."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.game.strategies import placements_for, play, rule_configs, small_rules
from tilemud.game import Placement, ReplayTick, RuleConfig, TickOutcome
from tilemud.net.http import (
    ERROR_CODES,
    REPLAY_FORMAT,
    ReplayFormatError,
    parse_replay_document,
    replay_document,
)
from tilemud.storage import ArenaEvent, ArenaRecord, Replay

PROTOCOL_DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
CREATED = dt.datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
ENDED = dt.datetime(2025, 3, 1, 12, 5, tzinfo=dt.UTC)


def replay_of(
    rules: RuleConfig, outcomes: list[TickOutcome], *, seed: int = 9, ended: bool = True
) -> Replay:
    arena = ArenaRecord(
        arena_id="a_1",
        mode=rules.mode,
        region="eu",
        rules_version=rules.content_hash,
        seed=seed,
        state="ended" if ended else "live",
        created=CREATED,
        ended=ENDED if ended else None,
        result={"tick": 9, "reason": "time", "scores": {"ann": 2}, "winners": ["ann"]}
        if ended
        else None,
    )
    # The log keeps no request ids.
    ticks = tuple(
        ReplayTick(
            tick=o.tick,
            placements=tuple(attrs.evolve(p, rid=None) for p in o.accepted),
            checksum=o.checksum,
        )
        for o in outcomes
        if o.accepted
    )
    return Replay(arena=arena, rules=rules, ticks=ticks)


def sample() -> tuple[Replay, dict[str, Any]]:
    rules = small_rules()
    _, outcomes = play(
        rules,
        [
            [Placement(player_id="ann", x=0, y=0, kind="stone")],
            [],
            [
                Placement(player_id="bob", x=1, y=0, kind="wood"),
                Placement(player_id="ann", x=2, y=0, kind="stone"),
            ],
        ],
    )
    replay = replay_of(rules, outcomes, seed=2**64 - 1)
    return replay, replay_document(replay, ["bob", "ann"])


def test_the_document_is_compact_and_exact() -> None:
    replay, body = sample()
    checksums = [t.checksum for t in replay.ticks]
    assert body == {
        "format": REPLAY_FORMAT,
        "arena_id": "a_1",
        "mode": "battle",
        "region": "eu",
        "state": "ended",
        "created": "2025-03-01T12:00:00.250000Z",
        "ended": "2025-03-01T12:05:00Z",
        "result": {"tick": 9, "reason": "time", "scores": {"ann": 2}, "winners": ["ann"]},
        "rules_version": replay.rules.content_hash,
        "rules": replay.rules.to_dict(),
        "seed": "18446744073709551615",
        "participants": ["ann", "bob"],
        "players": ["ann", "bob"],
        "kinds": ["stone", "wood"],
        "ticks": [
            [1, checksums[0], [[0, 0, 0, 0]]],
            [3, checksums[1], [[0, 2, 0, 0], [1, 1, 0, 1]]],
        ],
        "events": [],
    }


def test_events_are_listed_and_read_back_and_bad_ones_refused() -> None:
    replay, _ = sample()
    event = ArenaEvent(
        arena_id="a_1", tick=2, kind="npc_capacity", detail={"npc_cap": 4, "shed_steps": 1}
    )
    body = replay_document(attrs.evolve(replay, events=(event,)), ["ann"])
    assert body["events"] == [[2, "npc_capacity", {"npc_cap": 4, "shed_steps": 1}]]
    document = parse_replay_document(orjson.loads(orjson.dumps(body)))
    assert document.events == ((2, "npc_capacity", {"npc_cap": 4, "shed_steps": 1}),)
    assert document.verify().ok  # events change no tile
    bads: list[object] = [{}, [[2, "npc_capacity"]], [["2", "npc_capacity", {}]], [[2, 3, {}]]]
    for bad in bads:
        with pytest.raises(ReplayFormatError):
            parse_replay_document({**body, "events": bad})


def test_the_document_reads_back_to_the_replay() -> None:
    replay, body = sample()
    document = parse_replay_document(orjson.loads(orjson.dumps(body)))
    assert document.ticks == replay.ticks
    assert document.rules == replay.rules
    assert document.seed == replay.arena.seed
    assert (document.created, document.ended) == (CREATED, ENDED)
    assert document.participants == ("ann", "bob")
    assert document.result == replay.arena.result
    assert document.verify().ok


def test_a_live_replay_has_no_end() -> None:
    replay = replay_of(small_rules(), [], ended=False)
    body = replay_document(replay, [])
    assert (body["state"], body["ended"], body["result"], body["ticks"]) == (
        "live",
        None,
        None,
        [],
    )
    document = parse_replay_document(body)
    assert (document.ended, document.result, document.ticks) == (None, None, ())


@settings(max_examples=60)
@given(rule_configs(), st.integers(0, 2**64 - 1), st.data())
def test_random_games_survive_the_document_and_re_simulate(
    rules: RuleConfig, seed: int, data: st.DataObject
) -> None:
    ticks = [data.draw(placements_for(rules)) for _ in range(data.draw(st.integers(1, 10)))]
    _, outcomes = play(rules, ticks, seed=seed)
    replay = replay_of(rules, outcomes, seed=seed)
    document = parse_replay_document(orjson.loads(orjson.dumps(replay_document(replay, []))))
    assert document.ticks == replay.ticks
    check = document.verify()
    assert check.ok, check.divergence
    assert check.checksums == len(replay.ticks)


def test_a_tampered_document_re_simulates_to_a_divergence() -> None:
    _, body = sample()
    body["ticks"][1][2][0][1] = 4  # ann's second tile moved
    check = parse_replay_document(body).verify()
    assert check.divergence is not None
    assert check.divergence.tick == 3


Mutation = Callable[[dict[str, Any]], object]


def _set(key: str, value: object) -> Mutation:
    return lambda body: body.__setitem__(key, value)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        pytest.param(_set("format", 2), "format 1", id="format"),
        pytest.param(lambda b: b.pop("kinds"), "missing keys: kinds", id="missing"),
        pytest.param(_set("extra", 1), "unknown keys: extra", id="extra"),
        pytest.param(_set("state", "paused"), "unknown state", id="state"),
        pytest.param(_set("arena_id", 7), "arena_id must be a string", id="arena-id"),
        pytest.param(_set("seed", 9), "seed must be a string", id="seed-number"),
        pytest.param(_set("seed", "-1"), "decimal", id="seed-negative"),
        pytest.param(_set("seed", "007"), "decimal", id="seed-leading-zero"),
        pytest.param(_set("seed", "1_0"), "decimal", id="seed-underscore"),
        pytest.param(_set("seed", "\u0661"), "decimal", id="seed-non-ascii-digit"),
        pytest.param(_set("seed", str(2**64)), "below 2\\*\\*64", id="seed-too-big"),
        pytest.param(_set("created", "yesterday"), "ISO 8601", id="created"),
        pytest.param(_set("ended", "2025-03-01T12:05:00"), "UTC", id="naive"),
        pytest.param(_set("ended", "2025-03-01T12:05:00+01:00"), "UTC", id="offset"),
        pytest.param(_set("result", []), "result must be a JSON object", id="result"),
        pytest.param(_set("rules_version", "sha256:0"), "hash to", id="rules-hash"),
        pytest.param(lambda b: b["rules"].pop("width"), "rules:", id="rules-invalid"),
        pytest.param(_set("players", ["ann", 2]), "array of strings", id="players"),
        pytest.param(_set("participants", "ann"), "array of strings", id="participants"),
        pytest.param(_set("ticks", {}), "ticks must be an array", id="ticks"),
        pytest.param(lambda b: b["ticks"][0].pop(), "tick, checksum", id="tick-short"),
        pytest.param(lambda b: b["ticks"].reverse(), "does not follow", id="tick-order"),
        pytest.param(lambda b: b["ticks"][0].__setitem__(0, 0), "does not follow", id="tick-0"),
        pytest.param(lambda b: b["ticks"][0].__setitem__(0, True), "integer", id="tick-bool"),
        pytest.param(lambda b: b["ticks"][0].__setitem__(1, 5), "checksum", id="checksum"),
        pytest.param(lambda b: b["ticks"][0].__setitem__(2, {}), "array", id="placements"),
        pytest.param(lambda b: b["ticks"][0][2][0].pop(), "player, x, y, kind", id="short"),
        pytest.param(lambda b: b["ticks"][0][2][0].__setitem__(0, 9), "indexes", id="player"),
        pytest.param(lambda b: b["ticks"][0][2][0].__setitem__(3, -1), "indexes", id="kind"),
        pytest.param(lambda b: b["ticks"][0][2][0].__setitem__(1, 1.0), "integer", id="float"),
    ],
)
def test_malformed_documents_are_refused(mutate: Mutation, match: str) -> None:
    _, body = sample()
    body = copy.deepcopy(body)
    mutate(body)
    with pytest.raises(ReplayFormatError, match=match) as caught:
        parse_replay_document(body)
    assert caught.value.code == "bad_replay"


@pytest.mark.parametrize("value", [[], "{}", None, 1])
def test_a_document_must_be_an_object(value: object) -> None:
    with pytest.raises(ReplayFormatError, match="JSON object"):
        parse_replay_document(value)


def test_the_example_in_the_protocol_doc_is_a_sound_replay() -> None:
    text = PROTOCOL_DOC.read_text(encoding="utf-8")
    example = text.split("<!-- replay-example -->\n```json\n", 1)[1].split("\n```", 1)[0]
    document = parse_replay_document(orjson.loads(example))
    check = document.verify()
    assert check.ok, check.divergence
    assert (check.ticks, check.checksums) == (4, 4)
    assert document.result is not None
    assert dict(check.final.scores) == document.result["scores"]


def test_the_protocol_doc_lists_every_replay_error_code() -> None:
    section = PROTOCOL_DOC.read_text(encoding="utf-8").split("## Replays (HTTP)", 1)[1]
    codes = ("missing_token", "invalid_token", "token_expired", "forbidden", "not_found")
    for code in (*codes, "replays_not_stored", "unavailable"):
        assert code in ERROR_CODES
        assert f"`{code}`" in section
