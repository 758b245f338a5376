"""The party permission matrix: every operation by every role, allowed and refused.

One party is used throughout: ``lead`` leads, ``mem`` and ``mem2`` are members (``mem``
the longest-standing after the leader), ``inv`` is invited, ``out`` is an outsider. Each
row names the actor's role, the operation, its target and extra facts, and the expected
outcome: None (allowed) or the refusal's error code.
"""

from __future__ import annotations

from typing import Any

import pytest

from tilemud.social import party_rules as rules
from tilemud.social.party_rules import PartyState

PARTY = PartyState(
    party_id="pt_1", leader="lead", members=("lead", "mem", "mem2"), invited=("inv",), cap=5
)
#: A player of each role in PARTY.
PLAYER = {"leader": "lead", "member": "mem", "invitee": "inv", "outsider": "out"}
ROLES = tuple(PLAYER)


def check(op: str, role: str, target: str = "new", **facts: Any) -> str | None:
    """Run the check of ``op`` for the player of ``role``; the refusal's code or None."""
    actor = PLAYER[role]
    match op:
        case "create":
            refused = rules.check_create(in_party=role in ("leader", "member"))
        case "invite":
            refused = rules.check_invite(
                facts.get("party", PARTY),
                actor,
                target,
                target_in_party=facts.get("target_in_party", False),
                target_blocks_actor=facts.get("blocks", False),
                target_online=facts.get("online", True),
            )
        case "accept":
            refused = rules.check_accept(
                facts.get("party", PARTY), actor, actor_in_party=facts.get("in_party", False)
            )
        case "decline":
            refused = rules.check_decline(PARTY, actor)
        case "leave":
            refused = rules.check_leave(PARTY, actor)
        case "kick":
            refused = rules.check_kick(PARTY, actor, target)
        case "promote":
            refused = rules.check_promote(PARTY, actor, target)
        case _:
            raise AssertionError(op)
    return None if refused is None else refused.code


#: (operation, role) -> outcome, with the target each operation is tried on by default:
#: a fresh player for invites, a plain member for kick and promote.
MATRIX: dict[tuple[str, str], str | None] = {
    ("create", "leader"): "already_in_party",
    ("create", "member"): "already_in_party",
    ("create", "invitee"): None,
    ("create", "outsider"): None,
    ("invite", "leader"): None,
    ("invite", "member"): "forbidden",
    ("invite", "invitee"): "not_in_party",
    ("invite", "outsider"): "not_in_party",
    ("accept", "leader"): "already_in_party",
    ("accept", "member"): "already_in_party",
    ("accept", "invitee"): None,
    ("accept", "outsider"): "no_invite",
    ("decline", "leader"): "no_invite",
    ("decline", "member"): "no_invite",
    ("decline", "invitee"): None,
    ("decline", "outsider"): "no_invite",
    ("leave", "leader"): None,
    ("leave", "member"): None,
    ("leave", "invitee"): "not_in_party",
    ("leave", "outsider"): "not_in_party",
    ("kick", "leader"): None,
    ("kick", "member"): "forbidden",
    ("kick", "invitee"): "not_in_party",
    ("kick", "outsider"): "not_in_party",
    ("promote", "leader"): None,
    ("promote", "member"): "forbidden",
    ("promote", "invitee"): "not_in_party",
    ("promote", "outsider"): "not_in_party",
}
DEFAULT_TARGET = {"invite": "new", "kick": "mem2", "promote": "mem2"}


def test_the_matrix_covers_every_operation_and_role() -> None:
    ops = {"create", "invite", "accept", "decline", "leave", "kick", "promote"}
    assert set(MATRIX) == {(op, role) for op in ops for role in ROLES}


@pytest.mark.parametrize(("op", "role"), list(MATRIX), ids=[f"{o}-{r}" for o, r in MATRIX])
def test_permission_matrix(op: str, role: str) -> None:
    assert check(op, role, DEFAULT_TARGET.get(op, "new")) == MATRIX[(op, role)]


#: The leader's operations refused for what the target is, not for who asks.
TARGET_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("invite", "lead", {}, "invalid_target"),
    ("invite", "inv", {}, "already_invited"),
    ("invite", "mem", {}, "already_in_party"),
    ("invite", "new", {"target_in_party": True}, "already_in_party"),
    ("invite", "new", {"blocks": True}, "blocked"),
    ("invite", "new", {"online": False}, "player_offline"),
    ("kick", "lead", {}, "invalid_target"),
    ("kick", "inv", {}, "not_a_member"),
    ("kick", "out", {}, "not_a_member"),
    ("promote", "lead", {}, "invalid_target"),
    ("promote", "inv", {}, "not_a_member"),
    ("promote", "out", {}, "not_a_member"),
]


@pytest.mark.parametrize(
    ("op", "target", "facts", "code"), TARGET_CASES, ids=[f"{c[0]}-{c[3]}" for c in TARGET_CASES]
)
def test_leader_operations_refused_by_target(
    op: str, target: str, facts: dict[str, Any], code: str
) -> None:
    assert check(op, "leader", target, **facts) == code


def test_a_blocked_player_cannot_invite_the_blocker_whatever_else_holds() -> None:
    assert check("invite", "leader", "new", blocks=True) == "blocked"
    assert check("invite", "leader", "new", blocks=False) is None


def test_the_cap_counts_pending_invites() -> None:
    # 3 members + 1 invite of a cap of 5: one seat left.
    assert check("invite", "leader", "new") is None
    full = rules.with_invite(PARTY, "new")
    assert full.seats_taken == 5
    assert check("invite", "leader", "other", party=full) == "party_full"
    # A full party still takes the accept of a pending invite: its seat was held.
    assert check("accept", "invitee", party=full) is None


def test_an_invitee_already_in_another_party_cannot_accept() -> None:
    assert check("accept", "invitee", in_party=True) == "already_in_party"


def test_roles() -> None:
    assert {role: PARTY.role_of(player) for role, player in PLAYER.items()} == {
        role: role for role in ROLES
    }


def test_accept_makes_the_invitee_the_newest_member() -> None:
    after = rules.with_accepted(PARTY, "inv")
    assert after.members == ("lead", "mem", "mem2", "inv")
    assert after.invited == ()
    assert after.role_of("inv") == "member"


def test_a_leader_leaving_hands_the_lead_to_the_longest_standing_member() -> None:
    after = rules.without_member(PARTY, "lead")
    assert after is not None
    assert after.leader == "mem"
    assert after.members == ("mem", "mem2")
    assert after.invited == ("inv",), "invites are the party's, not the leader's"
    assert rules.next_leader(PARTY, "lead") == "mem"


def test_a_promoted_member_leads_and_the_join_order_stays() -> None:
    after = rules.with_leader(PARTY, "mem2")
    assert after.leader == "mem2"
    assert after.members == PARTY.members
    # Then the new leader leaves: the longest-standing one left leads.
    gone = rules.without_member(after, "mem2")
    assert gone is not None
    assert gone.leader == "lead"


def test_a_member_leaving_keeps_the_leader() -> None:
    after = rules.without_member(PARTY, "mem")
    assert after is not None
    assert (after.leader, after.members) == ("lead", ("lead", "mem2"))


def test_the_last_member_leaving_ends_the_party() -> None:
    alone = rules.new_party("pt_2", "solo", cap=8)
    assert alone.members == ("solo",)
    assert rules.without_member(alone, "solo") is None
    assert rules.next_leader(alone, "solo") is None


def test_decline_drops_the_invite_only() -> None:
    after = rules.without_invite(PARTY, "inv")
    assert after.invited == ()
    assert after.members == PARTY.members
