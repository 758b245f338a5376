"""Rule-config versions, activations and replay management in storage, on SQLite and
PostgreSQL (the ``db`` fixture's two params); and migration 0007's frozen version 1."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.config import DatabaseSettings
from tilemud.game import ARENA_RULES, BATTLE_RULES, RuleConfigError
from tilemud.storage import (
    Database,
    PlacementRecord,
    RecordConflict,
    RecordNotFound,
    ReplayQuery,
    append_placements,
    create_arena,
    end_arena,
    load_replay,
    migrate,
    record_rule_config,
)
from tilemud.storage import _repo_replays as replays
from tilemud.storage import _repo_rules as rules
from tilemud.storage import tables as t
from tilemud.storage._records import ParticipantRecord, RoundStart
from tilemud.storage._repo_log import record_participants
from tilemud.storage._repo_rounds import start_round

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def test_migration_0007_stores_the_built_in_defaults_as_version_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/tilemud.sqlite3"
    migrate.upgrade(url)
    database = Database(url, DatabaseSettings())
    try:
        with database.transaction() as conn:
            battle, arena = rules.list_versions(conn, "battle"), rules.list_versions(conn, "arena")
    finally:
        database.dispose()
    assert [(v.number, v.rules, v.author) for v in battle] == [(1, BATTLE_RULES, "system")]
    assert [(v.number, v.rules, v.activations) for v in arena] == [(1, ARENA_RULES, ())]


def seeded(conn: Connection) -> None:
    """Version 1 of each mode, as migration 0007 stores it (PostgreSQL tests truncate it)."""
    for mode, config in (("battle", BATTLE_RULES), ("arena", ARENA_RULES)):
        if conn.execute(sa.select(t.rule_versions).where(t.rule_versions.c.mode == mode)).first():
            continue
        record_rule_config(conn, config, at=T0)
        conn.execute(
            sa.insert(t.rule_versions).values(
                mode=mode,
                number=1,
                content_hash=config.content_hash,
                based_on=None,
                author="system",
                reason="the built-in defaults",
                created=T0,
            )
        )


def test_versions_activations_and_rollback(db: Database) -> None:
    with db.transaction() as conn:
        seeded(conn)
        assert rules.active_rules(conn, "battle", "eu") is None
        made = rules.add_version(
            conn,
            mode="battle",
            based_on=1,
            changes={"width": 20},
            author="admin:a",
            reason="smaller",
            at=T0,
        )
        assert (made.number, made.based_on, made.rules.width) == (2, 1, 20)
        with pytest.raises(RecordConflict) as duplicate:
            rules.add_version(
                conn, mode="battle", based_on=2, changes={}, author="a", reason="r", at=T0
            )
        assert duplicate.value.code == "duplicate_rules"
        with pytest.raises(RuleConfigError):
            rules.add_version(
                conn,
                mode="battle",
                based_on=1,
                changes={"width": -1},
                author="a",
                reason="r",
                at=T0,
            )
        with pytest.raises(RecordNotFound):
            rules.load_version(conn, "battle", 3)
        every = rules.activate(
            conn, mode="battle", region=None, number=2, actor="a", reason="r", at=T0
        )
        assert (every.number, every.previous) == (2, None)
        assert rules.active_rules(conn, "battle", "eu") == made.rules
        assert rules.active_rules(conn, "arena", "eu") is None
        own = rules.activate(
            conn, mode="battle", region="eu", number=1, actor="a", reason="r", at=T0
        )
        assert own.previous is None  # eu had none of its own
        assert rules.active_rules(conn, "battle", "eu") == BATTLE_RULES
        assert rules.active_rules(conn, "battle", "us") == made.rules
        with pytest.raises(RecordConflict) as active:
            rules.activate(conn, mode="battle", region="eu", number=1, actor="a", reason="r", at=T0)
        assert active.value.code == "already_active"
        with pytest.raises(RecordConflict) as nothing:
            rules.roll_back(conn, mode="battle", region="eu", actor="a", reason="r", at=T0)
        assert nothing.value.code == "nothing_to_roll_back"
        later = T0 + dt.timedelta(minutes=1)
        rules.activate(conn, mode="battle", region=None, number=1, actor="a", reason="r", at=later)
        back = rules.roll_back(conn, mode="battle", region=None, actor="a", reason="r", at=later)
        assert (back.number, back.previous) == (2, 1)
        listed = rules.list_versions(conn, "battle")
        assert [v.number for v in listed] == [1, 2]
        in_force = [(p.region, v.number) for v in listed for p in v.activations if not p.active_to]
        assert sorted(in_force, key=str) == [("eu", 1), (None, 2)]


def test_the_database_keeps_one_activation_in_force(db: Database) -> None:
    with db.transaction() as conn:
        seeded(conn)
        rules.activate(conn, mode="battle", region="eu", number=1, actor="a", reason="r", at=T0)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), db.transaction() as conn:
        # What a second node racing this one would write: a second row in force.
        conn.execute(
            sa.insert(t.rule_activations).values(
                mode="battle",
                region="eu",
                number=1,
                active_from=T0,
                active_to=None,
                activated_by="b",
                reason="race",
            )
        )


def battle(conn: Connection, arena_id: str, *, minutes: int, players: list[str]) -> None:
    version = record_rule_config(conn, BATTLE_RULES, at=T0)
    at = T0 + dt.timedelta(minutes=minutes)
    create_arena(
        conn, arena_id=arena_id, mode="battle", region="eu", rules_version=version, seed=1, at=at
    )
    record_participants(
        conn, [ParticipantRecord(arena_id=arena_id, player_id=p, joined=at) for p in players]
    )
    append_placements(
        conn,
        [
            PlacementRecord(
                arena_id=arena_id, tick=1, ordinal=i, player_id=p, x=i, y=0, kind="stone"
            )
            for i, p in enumerate(players)
        ],
    )


def test_search_and_delete_replays(db: Database) -> None:
    with db.transaction() as conn:
        seeded(conn)
        battle(conn, "b1", minutes=0, players=["p_a", "p_b"])
        battle(conn, "b2", minutes=5, players=["p_b"])
        battle(conn, "b3", minutes=10, players=["p_c"])
        end_arena(conn, arena_id="b1", at=T0, result=None)
        found = replays.search_replays(conn, ReplayQuery())
        assert [r.arena_id for r in found] == ["b3", "b2", "b1"]
        assert found[0].rule_version == 1
        assert [r.participants for r in found] == [1, 1, 2]
        by_player = replays.search_replays(conn, ReplayQuery(player="p_b"))
        assert [r.arena_id for r in by_player] == ["b2", "b1"]
        window = ReplayQuery(since=T0 + dt.timedelta(minutes=1), until=T0 + dt.timedelta(minutes=6))
        assert [r.arena_id for r in replays.search_replays(conn, window)] == ["b2"]
        assert replays.search_replays(conn, ReplayQuery(mode="arena")) == []
        paged = replays.search_replays(conn, ReplayQuery(limit=1, offset=1))
        assert [r.arena_id for r in paged] == ["b2"]
        with pytest.raises(RecordConflict) as live:
            replays.delete_replay(conn, "b2", at=T0)
        assert live.value.code == "replay_live"
        replays.delete_replay(conn, "b1", at=T0)
        with pytest.raises(RecordNotFound):
            load_replay(conn, "b1")
        with pytest.raises(RecordNotFound):
            replays.delete_replay(conn, "b1", at=T0)
        with pytest.raises(RecordNotFound):
            replays.delete_replay(conn, "nope", at=T0)
        assert [r.arena_id for r in replays.search_replays(conn, ReplayQuery())] == ["b3", "b2"]


def test_an_arena_played_in_rounds_is_listed_by_round(db: Database) -> None:
    with db.transaction() as conn:
        seeded(conn)
        version = record_rule_config(conn, ARENA_RULES, at=T0)
        create_arena(
            conn, arena_id="a1", mode="arena", region="eu", rules_version=version, seed=1, at=T0
        )
        for number in (1, 2):
            start_round(
                conn,
                RoundStart(arena_id=f"a1.r{number}", parent_id="a1", round=number, first_tick=1),
                at=T0 + dt.timedelta(minutes=number),
            )
        end_arena(conn, arena_id="a1.r1", at=T0, result={})
        found = replays.search_replays(conn, ReplayQuery(mode="arena"))
        assert [(r.arena_id, r.parent_id, r.round) for r in found] == [
            ("a1.r2", "a1", 2),
            ("a1.r1", "a1", 1),
        ]
        assert found[0].rule_version == 1  # ARENA_RULES is version 1 of the arena mode
        with pytest.raises(RecordNotFound) as parent:
            replays.delete_replay(conn, "a1", at=T0)
        assert parent.value.code == "played_in_rounds"
        replays.delete_replay(conn, "a1.r1", at=T0)
        assert [r.arena_id for r in replays.search_replays(conn, ReplayQuery())] == ["a1.r2"]
