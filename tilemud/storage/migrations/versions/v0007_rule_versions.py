"""Rule-config versions per mode and their activations; version 1 of each mode is the
built-in default of the day this migration was written (frozen here as data, so a later
change of the code's defaults is a new version, not a rewrite of version 1).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = 128
_KINDS: Final = [
    {"name": "stone", "points": 1},
    {"name": "wood", "points": 1},
    {"name": "crystal", "points": 2},
]
#: ``BATTLE_RULES.to_dict()`` and ``ARENA_RULES.to_dict()`` (tests/storage/test_rule_versions.py
#: checks what a migrated database holds).
DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "battle": {
        "format_version": 1,
        "mode": "battle",
        "width": 32,
        "height": 32,
        "tick_rate_hz": 10,
        "require_adjacency": True,
        "cooldown_ticks": 5,
        "tile_kinds": _KINDS,
        "scoring": "tiles_held",
        "player_cap": 8,
        "npc_cap": 8,
        "battle_ticks": 1800,
        "end_on_full_board": True,
    },
    "arena": {
        "format_version": 2,
        "mode": "arena",
        "width": 256,
        "height": 256,
        "tick_rate_hz": 10,
        "require_adjacency": True,
        "cooldown_ticks": 3,
        "tile_kinds": _KINDS,
        "scoring": "tiles_held",
        "player_cap": 300,
        "npc_cap": 100,
        "battle_ticks": None,
        "end_on_full_board": False,
        "captures": True,
        "capture_margin": 0,
        "round_ticks": 3000,
    },
}


def _hash(body: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def upgrade() -> None:
    op.create_table(
        "rule_versions",
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(80), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(_ID), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_hash"],
            ["rule_configs.version"],
            name="fk_rule_versions_content_hash_rule_configs",
        ),
        sa.PrimaryKeyConstraint("mode", "number", name="pk_rule_versions"),
        sa.UniqueConstraint("mode", "content_hash", name="uq_rule_versions_mode_content_hash"),
    )
    op.create_table(
        "rule_activations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("active_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_by", sa.String(_ID), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mode", "number"],
            ["rule_versions.mode", "rule_versions.number"],
            name="fk_rule_activations_mode_rule_versions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rule_activations"),
    )
    # At most one activation in force per (mode, region), whatever the nodes do at once.
    op.create_index(
        "ux_rule_activations_in_force",
        "rule_activations",
        ["mode", "region"],
        unique=True,
        sqlite_where=sa.text("active_to IS NULL"),
        postgresql_where=sa.text("active_to IS NULL"),
    )
    bind = op.get_bind()
    configs = sa.table(
        "rule_configs",
        sa.column("version", sa.String),
        sa.column("body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("created", sa.DateTime(timezone=True)),
    )
    versions = sa.table(
        "rule_versions",
        sa.column("mode", sa.String),
        sa.column("number", sa.Integer),
        sa.column("content_hash", sa.String),
        sa.column("based_on", sa.Integer),
        sa.column("author", sa.String),
        sa.column("reason", sa.Text),
        sa.column("created", sa.DateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    # SQLite keeps naive UTC text (tables.UTCDateTime); PostgreSQL a timestamptz.
    stamp = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
    for mode, body in DEFAULTS.items():
        content_hash = _hash(body)
        found = bind.execute(
            sa.select(configs.c.version).where(configs.c.version == content_hash)
        ).first()
        if found is None:
            bind.execute(sa.insert(configs).values(version=content_hash, body=body, created=stamp))
        bind.execute(
            sa.insert(versions).values(
                mode=mode,
                number=1,
                content_hash=content_hash,
                based_on=None,
                author="system",
                reason="the built-in defaults",
                created=stamp,
            )
        )


def downgrade() -> None:
    op.drop_index("ux_rule_activations_in_force", table_name="rule_activations")
    op.drop_table("rule_activations")
    op.drop_table("rule_versions")
