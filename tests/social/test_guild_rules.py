"""Guild rules: the permission matrix (every operation by every role), names, the cap."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tilemud.protocol import ErrorCode
from tilemud.social.guild_rules import (
    LEADER,
    MEMBER,
    OFFICER,
    Created,
    Declined,
    Denied,
    Disbanded,
    Guild,
    GuildBook,
    GuildChange,
    Invited,
    Joined,
    Removed,
    RoleSet,
    Transferred,
    name_key,
    normalise_name,
)

GID = "g1"


def book(cap: int = 50) -> GuildBook:
    """Guild g1: leader L, officers O and O2, members M and M2, invitee I; outsider X;
    N leads guild g2 alone."""
    b = GuildBook(member_cap=cap)
    b.load(
        Guild(
            guild_id=GID,
            name="Tile Lords",
            members={"L": LEADER, "O": OFFICER, "O2": OFFICER, "M": MEMBER, "M2": MEMBER},
            invites={"I": "O"},
        )
    )
    b.load(Guild(guild_id="g2", name="Other", members={"N": LEADER}))
    return b


Plan = Callable[[GuildBook, str], GuildChange | Denied | Guild]

OPS: dict[str, Plan] = {
    "create": lambda b, who: b.plan_create(who, "New Guild", guild_id="g9"),
    "invite": lambda b, who: b.plan_invite(who, "X2"),
    "accept": lambda b, who: b.plan_accept(who, GID),
    "decline": lambda b, who: b.plan_decline(who, GID),
    "leave": lambda b, who: b.plan_leave(who),
    "kick member": lambda b, who: b.plan_kick(who, "M"),
    "kick officer": lambda b, who: b.plan_kick(who, "O"),
    "kick leader": lambda b, who: b.plan_kick(who, "L"),
    "promote member": lambda b, who: b.plan_promote(who, "M"),
    "demote officer": lambda b, who: b.plan_demote(who, "O"),
    "transfer to member": lambda b, who: b.plan_transfer(who, "M"),
    "disband": lambda b, who: b.plan_disband(who),
    "info": lambda b, who: b.check_read(who, GID),
}

# The acting player for each role (M2 acts as "member" where M is the target).
ACTOR = {"leader": "L", "officer": "O2", "member": "M2", "non-member": "X", "invitee": "I"}

OK = "ok"
F = ErrorCode.FORBIDDEN
NIG = ErrorCode.NOT_IN_GUILD
AIG = ErrorCode.ALREADY_IN_GUILD
NOI = ErrorCode.NO_INVITE

# op -> (leader, officer, member, non-member, invitee): "ok" or the refusal's code.
MATRIX: dict[str, tuple[str, str, str, str, str]] = {
    "create": (AIG, AIG, AIG, OK, OK),
    "invite": (OK, OK, F, NIG, NIG),
    "accept": (AIG, AIG, AIG, NOI, OK),
    "decline": (NOI, NOI, NOI, NOI, OK),
    "leave": (F, OK, OK, NIG, NIG),
    "kick member": (OK, OK, F, NIG, NIG),
    "kick officer": (OK, F, F, NIG, NIG),
    "kick leader": (ErrorCode.INVALID_TARGET, F, F, NIG, NIG),
    "promote member": (OK, F, F, NIG, NIG),
    "demote officer": (OK, F, F, NIG, NIG),
    "transfer to member": (OK, F, F, NIG, NIG),
    "disband": (OK, F, F, NIG, NIG),
    "info": (OK, OK, OK, F, OK),
}

CASES = [
    pytest.param(op, role, expected, id=f"{op}-by-{role}")
    for op, row in MATRIX.items()
    for role, expected in zip(ACTOR, row, strict=True)
]


def test_the_matrix_covers_every_operation_and_role() -> None:
    assert set(MATRIX) == set(OPS)
    assert {op.split()[0] for op in OPS} == {
        "create", "invite", "accept", "decline", "leave", "kick",
        "promote", "demote", "transfer", "disband", "info",
    }  # fmt: skip


@pytest.mark.parametrize(("op", "role", "expected"), CASES)
def test_permission_matrix(op: str, role: str, expected: str) -> None:
    b = book()
    outcome = OPS[op](b, ACTOR[role])
    if expected == OK:
        assert not isinstance(outcome, Denied), outcome
        if not isinstance(outcome, Guild):
            b.apply(outcome)  # an allowed change applies cleanly
    else:
        assert isinstance(outcome, Denied)
        assert outcome.code == expected, outcome.message


def test_the_leader_kicking_themself_is_an_invalid_target() -> None:
    assert book().plan_kick("L", "L") == Denied(
        code=ErrorCode.INVALID_TARGET, message="not on yourself"
    )


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        (lambda b: b.plan_kick("L", "X"), ErrorCode.NOT_A_MEMBER),
        (lambda b: b.plan_kick("L", "N"), ErrorCode.NOT_A_MEMBER),
        (lambda b: b.plan_promote("L", "O"), ErrorCode.INVALID_TARGET),
        (lambda b: b.plan_demote("L", "M"), ErrorCode.INVALID_TARGET),
        (lambda b: b.plan_transfer("L", "L"), ErrorCode.INVALID_TARGET),
        (lambda b: b.plan_transfer("L", "X"), ErrorCode.NOT_A_MEMBER),
        (lambda b: b.plan_invite("L", "M"), ErrorCode.INVALID_TARGET),
        (lambda b: b.plan_invite("L", "N"), ErrorCode.ALREADY_IN_GUILD),
        (lambda b: b.plan_accept("X", "g404"), ErrorCode.NO_INVITE),
        (lambda b: b.check_read("X", "g404"), ErrorCode.NOT_FOUND),
        (lambda b: b.check_read("X", None), ErrorCode.NOT_IN_GUILD),
        (lambda b: b.plan_create("X", "tile lords", guild_id="g9"), ErrorCode.NAME_TAKEN),
        (lambda b: b.plan_create("X", "x", guild_id="g9"), ErrorCode.INVALID_NAME),
    ],
)
def test_targets_and_names_are_checked(
    plan: Callable[[GuildBook], GuildChange | Denied | Guild], code: str
) -> None:
    outcome = plan(book())
    assert isinstance(outcome, Denied)
    assert outcome.code == code


def test_the_changes_each_op_plans() -> None:
    b = book()
    assert b.plan_create("X", "  New Guild ", guild_id="g9") == Created(
        guild_id="g9", name="New Guild", leader="X"
    )
    assert b.plan_invite("O", "X") == Invited(guild_id=GID, player_id="X", by="O")
    assert b.plan_invite("L", "I") == Invited(guild_id=GID, player_id="I", by="L", renewed=True)
    assert b.plan_accept("I", GID) == Joined(guild_id=GID, player_id="I")
    assert b.plan_decline("I", GID) == Declined(guild_id=GID, player_id="I")
    assert b.plan_leave("M") == Removed(guild_id=GID, player_id="M")
    assert b.plan_leave("N") == Disbanded(guild_id="g2", by="N")  # a lone leader
    assert b.plan_kick("O", "M") == Removed(guild_id=GID, player_id="M", by="O")
    assert b.plan_promote("L", "M") == RoleSet(guild_id=GID, player_id="M", role=OFFICER, by="L")
    assert b.plan_demote("L", "O") == RoleSet(guild_id=GID, player_id="O", role=MEMBER, by="L")
    assert b.plan_transfer("L", "M") == Transferred(guild_id=GID, old_leader="L", new_leader="M")
    assert b.plan_disband("L") == Disbanded(guild_id=GID, by="L")


def test_applying_changes_keeps_the_book_consistent() -> None:
    b = book()
    b.load(Guild(guild_id="g3", name="Third", members={"T": LEADER}, invites={"I": "T"}))
    b.apply(Joined(guild_id=GID, player_id="I"))
    assert b.guild_of("I") == GID
    assert b.role_of("I") == MEMBER
    third = b.guild("g3")
    assert third is not None
    assert "I" not in third.invites  # joining drops the player's other invites
    b.apply(Transferred(guild_id=GID, old_leader="L", new_leader="M"))
    assert (b.role_of("L"), b.role_of("M")) == (OFFICER, LEADER)
    guild = b.guild(GID)
    assert guild is not None
    assert guild.leader == "M"
    b.apply(Disbanded(guild_id=GID, by="M"))
    assert b.guild(GID) is None
    assert b.guild_of("M") is None
    # The name is free again, in any case.
    assert isinstance(b.plan_create("M", "TILE LORDS", guild_id="g4"), Created)


def test_the_member_cap_refuses_invites_and_accepts() -> None:
    b = book(cap=6)  # g1 has 5 members
    assert isinstance(b.plan_invite("L", "X"), Invited)
    b.apply(Joined(guild_id=GID, player_id="I"))
    for refused in (b.plan_invite("L", "X"), b.plan_accept("X", GID)):
        assert isinstance(refused, Denied)
        assert refused.code in (ErrorCode.GUILD_FULL, ErrorCode.NO_INVITE)
    b.apply(Invited(guild_id=GID, player_id="X", by="L"))
    full = b.plan_accept("X", GID)
    assert isinstance(full, Denied)
    assert full.code == ErrorCode.GUILD_FULL


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("abc", "abc"),
        ("  Tile Lords  ", "Tile Lords"),
        ("x-_9", "x-_9"),
        ("Ørsted Øl", "Ørsted Øl"),
        ("9lives", "9lives"),
        ("a" * 24, "a" * 24),
    ],
)
def test_good_names(raw: str, name: str) -> None:
    assert normalise_name(raw) == name


@pytest.mark.parametrize(
    "raw", ["ab", "   ab   ", "a" * 25, "-abc", "_abc", "a  b", "a!b", "a\tb", "ab\u200bc", ""]
)
def test_bad_names(raw: str) -> None:
    refused = normalise_name(raw)
    assert isinstance(refused, Denied)
    assert refused.code == ErrorCode.INVALID_NAME


def test_names_are_unique_ignoring_case_and_compatibility_forms() -> None:
    assert name_key("Tile Lords") == name_key("tILE lORDS")
    fullwidth = "\uff21\uff22\uff23"  # "ABC" in fullwidth forms
    assert name_key(fullwidth) == name_key("abc")
