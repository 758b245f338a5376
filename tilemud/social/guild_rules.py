"""Guild rules: roles, who may do what, guild names, the member cap. Pure: no Trio, no I/O.

A :class:`GuildBook` holds every guild of the server (members with their roles, pending
invites) and decides each operation in two steps: ``plan_*`` checks the request against
the rules and returns either the :data:`GuildChange` it would make or a :class:`Denied`
with a stable error code, without touching the book; :meth:`GuildBook.apply` then makes
the change. The guilds actor stores the change in between, so the book only ever holds
what is committed.

Roles, highest first: ``leader`` (exactly one per guild), ``officer``, ``member``. The
permission functions (:func:`may_invite`, :func:`may_kick`, :func:`may_set_role`,
:func:`may_transfer`, :func:`may_disband`) are the table in docs/social.md ("Guilds").

Why one module of over 400 lines: the permission table and the plan/apply pairs of all
eleven operations are read together; split, the rules of one role would be in two places.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final, Literal, TypeAlias, assert_never

import attrs

from tilemud.protocol import ErrorCode

Role: TypeAlias = Literal["leader", "officer", "member"]

LEADER: Final[Role] = "leader"
OFFICER: Final[Role] = "officer"
MEMBER: Final[Role] = "member"

#: Shortest and longest guild name, in characters, after trimming.
NAME_MIN: Final = 3
NAME_MAX: Final = 24
_NAME_PUNCTUATION: Final = frozenset(" -_")

_RANK: Final[Mapping[Role, int]] = {LEADER: 3, OFFICER: 2, MEMBER: 1}


@attrs.frozen(kw_only=True)
class Denied:
    """A refused operation: a stable ``code`` (an :class:`ErrorCode`) and a message."""

    code: str
    message: str


# -- the permission table -----------------------------------------------------------------


def may_invite(role: Role) -> bool:
    """Leaders and officers invite."""
    return role in (LEADER, OFFICER)


def may_kick(role: Role, target: Role) -> bool:
    """A leader kicks officers and members; an officer kicks members."""
    return _RANK[role] > _RANK[target] and role in (LEADER, OFFICER)


def may_set_role(role: Role) -> bool:
    """Only the leader promotes (member -> officer) and demotes (officer -> member)."""
    return role == LEADER


def may_transfer(role: Role) -> bool:
    """Only the leader hands leadership over (to any other member)."""
    return role == LEADER


def may_disband(role: Role) -> bool:
    """Only the leader disbands."""
    return role == LEADER


# -- names ----------------------------------------------------------------------------------


def normalise_name(raw: str) -> str | Denied:
    """The guild name a player asked for, trimmed and NFC-normalised, or why it is refused.

    Rules: 3 to 24 characters after trimming; letters, digits, spaces, ``-`` and ``_``;
    starting with a letter or digit; no two spaces in a row.
    """
    name = unicodedata.normalize("NFC", raw.strip())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        return _invalid_name(f"a guild name has {NAME_MIN} to {NAME_MAX} characters")
    if not (name[0].isalpha() or name[0].isdecimal()):
        return _invalid_name("a guild name starts with a letter or a digit")
    for ch in name:
        if not (ch.isalpha() or ch.isdecimal() or ch in _NAME_PUNCTUATION):
            return _invalid_name(f"{ch!r} is not allowed in a guild name")
    if "  " in name:
        return _invalid_name("a guild name has no two spaces in a row")
    return name


def name_key(name: str) -> str:
    """What makes two names the same (unique per server): NFKC, case folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def _invalid_name(message: str) -> Denied:
    return Denied(code=ErrorCode.INVALID_NAME, message=message)


# -- changes ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Created:
    """``leader`` founded guild ``guild_id`` called ``name``."""

    guild_id: str
    name: str
    leader: str


@attrs.frozen(kw_only=True)
class Invited:
    """``by`` invited ``player_id`` into ``guild_id`` (again, if ``renewed``)."""

    guild_id: str
    player_id: str
    by: str
    renewed: bool = False


@attrs.frozen(kw_only=True)
class Joined:
    """``player_id`` accepted the invite and is a member (their other invites drop)."""

    guild_id: str
    player_id: str


@attrs.frozen(kw_only=True)
class Declined:
    """``player_id`` declined the invite of ``guild_id``."""

    guild_id: str
    player_id: str


@attrs.frozen(kw_only=True)
class Removed:
    """``player_id`` left (``by`` is None) or was kicked by ``by``."""

    guild_id: str
    player_id: str
    by: str | None = None


@attrs.frozen(kw_only=True)
class RoleSet:
    """``by`` (the leader) made ``player_id`` a ``role``."""

    guild_id: str
    player_id: str
    role: Role
    by: str


@attrs.frozen(kw_only=True)
class Transferred:
    """``old_leader`` handed leadership to ``new_leader`` and became an officer."""

    guild_id: str
    old_leader: str
    new_leader: str


@attrs.frozen(kw_only=True)
class Disbanded:
    """``by`` disbanded the guild (or, its lone leader, left it)."""

    guild_id: str
    by: str


GuildChange: TypeAlias = (
    Created | Invited | Joined | Declined | Removed | RoleSet | Transferred | Disbanded
)


# -- the book --------------------------------------------------------------------------------


@attrs.define
class Guild:
    """One guild as the book holds it: members with roles, pending invites (-> inviter)."""

    guild_id: str
    name: str
    members: dict[str, Role] = attrs.field(factory=dict)
    invites: dict[str, str] = attrs.field(factory=dict)

    @property
    def leader(self) -> str:
        """The one leader."""
        return next(p for p, role in self.members.items() if role == LEADER)


class GuildBook:
    """Every guild, who is in which, and the rules that change them.

    Args:
        member_cap: most members a guild may have, its leader included.
    """

    def __init__(self, *, member_cap: int) -> None:
        self.member_cap = member_cap
        self._guilds: dict[str, Guild] = {}
        self._guild_of: dict[str, str] = {}
        self._names: dict[str, str] = {}

    # -- reading ---------------------------------------------------------------------------

    def guild(self, guild_id: str) -> Guild | None:
        """The guild, or None."""
        return self._guilds.get(guild_id)

    def guild_of(self, player_id: str) -> str | None:
        """The id of the player's guild, or None."""
        return self._guild_of.get(player_id)

    def role_of(self, player_id: str) -> Role | None:
        """The player's role in their guild, or None."""
        guild_id = self._guild_of.get(player_id)
        return None if guild_id is None else self._guilds[guild_id].members[player_id]

    def __len__(self) -> int:
        return len(self._guilds)

    def guilds(self) -> list[Guild]:
        """Every guild in the book."""
        return list(self._guilds.values())

    def load(self, guild: Guild) -> None:
        """Add a stored guild as it is (on start)."""
        self._guilds[guild.guild_id] = guild
        self._names[name_key(guild.name)] = guild.guild_id
        for player_id in guild.members:
            self._guild_of[player_id] = guild.guild_id

    def replace(self, guild_id: str, guild: Guild | None) -> None:
        """Put a guild as it is stored now in place of what the book held (None: it is
        gone), after another node changed it. A member of the fresh guild that this book
        still lists in another guild is taken out of that one: the database says where
        they are (that guild's own refresh follows)."""
        old = self._guilds.pop(guild_id, None)
        if old is not None:
            if self._names.get(name_key(old.name)) == guild_id:
                del self._names[name_key(old.name)]
            for player_id in old.members:
                if self._guild_of.get(player_id) == guild_id:
                    del self._guild_of[player_id]
        if guild is None:
            return
        for player_id in guild.members:
            elsewhere = self._guild_of.get(player_id)
            if elsewhere is not None:
                self._guilds[elsewhere].members.pop(player_id, None)
        self.load(guild)

    # -- planning --------------------------------------------------------------------------

    def plan_create(self, player_id: str, raw_name: str, *, guild_id: str) -> Created | Denied:
        """Found a guild: a player in no guild, a valid name that is free."""
        if player_id in self._guild_of:
            return Denied(code=ErrorCode.ALREADY_IN_GUILD, message="leave your guild first")
        name = normalise_name(raw_name)
        if isinstance(name, Denied):
            return name
        if name_key(name) in self._names:
            return Denied(code=ErrorCode.NAME_TAKEN, message=f"a guild is called {name!r}")
        return Created(guild_id=guild_id, name=name, leader=player_id)

    def plan_invite(self, player_id: str, target: str) -> Invited | Denied:
        """Invite ``target``: leaders and officers, a player in no guild, room left."""
        guild = self._own_guild(player_id)
        if isinstance(guild, Denied):
            return guild
        if not may_invite(guild.members[player_id]):
            return _forbidden("only the leader and officers invite")
        if target in guild.members:
            return Denied(code=ErrorCode.INVALID_TARGET, message=f"{target} is a member")
        if target in self._guild_of:
            return Denied(code=ErrorCode.ALREADY_IN_GUILD, message=f"{target} is in a guild")
        if len(guild.members) >= self.member_cap:
            return _full(guild)
        renewed = target in guild.invites
        return Invited(guild_id=guild.guild_id, player_id=target, by=player_id, renewed=renewed)

    def plan_accept(self, player_id: str, guild_id: str) -> Joined | Denied:
        """Accept an invite: the invitee, in no guild, while the guild has room."""
        if player_id in self._guild_of:
            return Denied(code=ErrorCode.ALREADY_IN_GUILD, message="leave your guild first")
        guild = self._invited_to(player_id, guild_id)
        if isinstance(guild, Denied):
            return guild
        if len(guild.members) >= self.member_cap:
            return _full(guild)
        return Joined(guild_id=guild_id, player_id=player_id)

    def plan_decline(self, player_id: str, guild_id: str) -> Declined | Denied:
        """Decline an invite: the invitee."""
        guild = self._invited_to(player_id, guild_id)
        if isinstance(guild, Denied):
            return guild
        return Declined(guild_id=guild_id, player_id=player_id)

    def plan_leave(self, player_id: str) -> Removed | Disbanded | Denied:
        """Leave: anyone but a leader with members left (who must transfer first); a
        lone leader leaving disbands the guild."""
        guild = self._own_guild(player_id)
        if isinstance(guild, Denied):
            return guild
        if guild.members[player_id] == LEADER:
            if len(guild.members) > 1:
                return _forbidden("the leader hands leadership over before leaving")
            return Disbanded(guild_id=guild.guild_id, by=player_id)
        return Removed(guild_id=guild.guild_id, player_id=player_id)

    def plan_kick(self, player_id: str, target: str) -> Removed | Denied:
        """Kick ``target``: a leader kicks officers and members, an officer members."""
        found = self._member_pair(player_id, target)
        if isinstance(found, Denied):
            return found
        guild, role, target_role = found
        if not may_kick(role, target_role):
            return _forbidden(f"a {role} cannot kick a {target_role}")
        return Removed(guild_id=guild.guild_id, player_id=target, by=player_id)

    def plan_promote(self, player_id: str, target: str) -> RoleSet | Denied:
        """Promote a member to officer: the leader."""
        return self._plan_role(player_id, target, frm=MEMBER, to=OFFICER)

    def plan_demote(self, player_id: str, target: str) -> RoleSet | Denied:
        """Demote an officer to member: the leader."""
        return self._plan_role(player_id, target, frm=OFFICER, to=MEMBER)

    def plan_transfer(self, player_id: str, target: str) -> Transferred | Denied:
        """Hand leadership to any other member: the leader (who becomes an officer)."""
        found = self._member_pair(player_id, target)
        if isinstance(found, Denied):
            return found
        guild, role, _ = found
        if not may_transfer(role):
            return _forbidden("only the leader hands leadership over")
        return Transferred(guild_id=guild.guild_id, old_leader=player_id, new_leader=target)

    def plan_disband(self, player_id: str) -> Disbanded | Denied:
        """Disband the guild: the leader."""
        guild = self._own_guild(player_id)
        if isinstance(guild, Denied):
            return guild
        if not may_disband(guild.members[player_id]):
            return _forbidden("only the leader disbands the guild")
        return Disbanded(guild_id=guild.guild_id, by=player_id)

    def check_read(self, player_id: str, guild_id: str | None) -> Guild | Denied:
        """The guild a player may look at: their own, or one that invited them."""
        if guild_id is None:
            return self._own_guild(player_id)
        guild = self._guilds.get(guild_id)
        if guild is None:
            return Denied(code=ErrorCode.NOT_FOUND, message=f"no guild {guild_id}")
        if player_id not in guild.members and player_id not in guild.invites:
            return _forbidden("only members and invited players see a guild")
        return guild

    # -- applying --------------------------------------------------------------------------

    def apply(self, change: GuildChange) -> None:
        """Make a planned (and stored) change."""
        match change:
            case Created(guild_id=gid, name=name, leader=leader):
                self.load(Guild(guild_id=gid, name=name, members={leader: LEADER}))
                self._drop_invites_of(leader)
            case Invited(guild_id=gid, player_id=pid, by=by):
                self._guilds[gid].invites[pid] = by
            case Joined(guild_id=gid, player_id=pid):
                self._guilds[gid].members[pid] = MEMBER
                self._guild_of[pid] = gid
                self._drop_invites_of(pid)
            case Declined(guild_id=gid, player_id=pid):
                del self._guilds[gid].invites[pid]
            case Removed(guild_id=gid, player_id=pid):
                del self._guilds[gid].members[pid]
                del self._guild_of[pid]
            case RoleSet(guild_id=gid, player_id=pid, role=role):
                self._guilds[gid].members[pid] = role
            case Transferred(guild_id=gid, old_leader=old, new_leader=new):
                members = self._guilds[gid].members
                members[old], members[new] = OFFICER, LEADER
            case Disbanded(guild_id=gid):
                guild = self._guilds.pop(gid)
                del self._names[name_key(guild.name)]
                for pid in guild.members:
                    del self._guild_of[pid]
            case _:
                assert_never(change)

    # -- helpers ---------------------------------------------------------------------------

    def _own_guild(self, player_id: str) -> Guild | Denied:
        guild_id = self._guild_of.get(player_id)
        if guild_id is None:
            return Denied(code=ErrorCode.NOT_IN_GUILD, message="you are in no guild")
        return self._guilds[guild_id]

    def _invited_to(self, player_id: str, guild_id: str) -> Guild | Denied:
        guild = self._guilds.get(guild_id)
        if guild is None or player_id not in guild.invites:
            return Denied(code=ErrorCode.NO_INVITE, message=f"no invite from guild {guild_id}")
        return guild

    def _member_pair(self, player_id: str, target: str) -> tuple[Guild, Role, Role] | Denied:
        guild = self._own_guild(player_id)
        if isinstance(guild, Denied):
            return guild
        if target == player_id:
            return Denied(code=ErrorCode.INVALID_TARGET, message="not on yourself")
        target_role = guild.members.get(target)
        if target_role is None:
            return Denied(code=ErrorCode.NOT_A_MEMBER, message=f"{target} is not in your guild")
        return guild, guild.members[player_id], target_role

    def _plan_role(self, player_id: str, target: str, *, frm: Role, to: Role) -> RoleSet | Denied:
        found = self._member_pair(player_id, target)
        if isinstance(found, Denied):
            return found
        guild, role, target_role = found
        if not may_set_role(role):
            return _forbidden("only the leader promotes and demotes")
        if target_role != frm:
            return Denied(code=ErrorCode.INVALID_TARGET, message=f"{target} is a {target_role}")
        return RoleSet(guild_id=guild.guild_id, player_id=target, role=to, by=player_id)

    def _drop_invites_of(self, player_id: str) -> None:
        for guild in self._guilds.values():
            guild.invites.pop(player_id, None)


def _forbidden(message: str) -> Denied:
    return Denied(code=ErrorCode.FORBIDDEN, message=message)


def _full(guild: Guild) -> Denied:
    return Denied(code=ErrorCode.GUILD_FULL, message=f"guild {guild.name!r} is full")
