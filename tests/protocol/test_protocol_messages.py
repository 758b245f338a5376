"""The message classes and registries: the rules every wire message must follow."""

from __future__ import annotations

import types
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

import attrs
import pytest

import tilemud.protocol
from tests.protocol.protocol_support import CLIENT_EXAMPLES, SERVER_EXAMPLES
from tilemud.protocol import CLIENT_MESSAGES, SERVER_MESSAGES, ClientMessage, ServerMessage
from tilemud.protocol._fields import Fixed, Items, Number, Text
from tilemud.protocol._registry import tag_registry
from tilemud.protocol._schema import describe_class

ALL_MESSAGES: list[type[Any]] = [*CLIENT_MESSAGES.values(), *SERVER_MESSAGES.values()]


def test_public_surface_is_pinned() -> None:
    public = {
        name
        for name, value in vars(tilemud.protocol).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == {
        "Ack",
        # moderation
        "Report",
        "ReportResult",
        # social: chat, direct messages and blocks
        "MAX_TEXT_WIRE",
        "Block",
        "BlockList",
        "ChatBacklog",
        "ChatClosed",
        "ChatClosedReason",
        "ChatHistory",
        "ChatJoin",
        "ChatJoined",
        "ChatLeave",
        "ChatLeft",
        "ChatLine",
        "ChatMessage",
        "ChatReply",
        "ChatRequest",
        "ChatSend",
        "ChatSent",
        "ChatStreamMessage",
        "DirectMessageFrame",
        "DmSend",
        "DmSent",
        "Unblock",
        # (end of chat)
        # social: guilds
        "GuildAccept",
        "GuildChangeKind",
        "GuildCreate",
        "GuildDecline",
        "GuildDemote",
        "GuildDisband",
        "GuildEvent",
        "GuildInfo",
        "GuildInvite",
        "GuildKick",
        "GuildLeave",
        "GuildOp",
        "GuildPromote",
        "GuildRequest",
        "GuildResult",
        "GuildRole",
        "GuildTransfer",
        # (end of guilds)
        "ArenaSnapshot",
        "ArenaTick",
        "BattleEnded",
        "RoundEnded",
        "BoardSnapshot",
        "CLIENT_MESSAGES",
        "CLOSE_CODES",
        "ClientMessage",
        "Dialect",
        "CloseCode",
        "CloseCodeInfo",
        "ERROR_CODES",
        "ErrorFrame",
        "ErrorCode",
        "ErrorCodeInfo",
        "Hello",
        "Join",
        "Joined",
        "Leave",
        "LeaveReason",
        "Left",
        "MAX_COORD",
        "MAX_PLACED",
        "MAX_RID_LENGTH",
        "MAX_TOKEN_LENGTH",
        "PROTOCOL_VERSION",
        "Ping",
        "Place",
        "PlaceResult",
        "PlayerJoined",
        "PlayerLeft",
        "Pong",
        "RulesSummary",
        "SCHEMA_DIR",
        "SERVER_MESSAGES",
        "STREAM_MESSAGES",
        "SUPPORTED_VERSIONS",
        "ServerMessage",
        "StreamGap",
        "StreamMessage",
        "TileKindSummary",
        "UNSTAMPED",
        "Welcome",
        "binary_frame_error",
        "check_schemas",
        "close_code_for",
        "decode_client",
        "decode_common_client",
        "dialect_for",
        "decode_hello",
        "decode_server",
        "encode_client",
        "encode_server",
        "encode_stream_body",
        "encode_snapshot_body",
        "EncodedBoard",
        "error_reply",
        "generate_schemas",
        "stamp",
        "write_schemas",
        # social: parties
        "MAX_PARTY",
        "PartyAccept",
        "PartyCreate",
        "PartyDecline",
        "PartyDeclined",
        "PartyEvent",
        "PartyEventKind",
        "PartyInfo",
        "PartyInvite",
        "PartyKick",
        "PartyLeave",
        "PartyLeft",
        "PartyPromote",
        "PartyRequest",
    }


def test_registries_are_the_unions() -> None:
    assert tuple(CLIENT_MESSAGES.values()) == get_args(ClientMessage)
    assert tuple(SERVER_MESSAGES.values()) == get_args(ServerMessage)
    for tag, cls in [*CLIENT_MESSAGES.items(), *SERVER_MESSAGES.items()]:
        assert tag == cls.TYPE


def test_registries_are_read_only() -> None:
    with pytest.raises(TypeError):
        CLIENT_MESSAGES["x"] = CLIENT_MESSAGES["ping"]  # type: ignore[index]


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.TYPE)
def test_message_class_follows_the_rules(cls: type[Any]) -> None:
    _check_class(cls, cls.__name__)


def _check_class(cls: type[Any], where: str) -> None:
    """A message, or an object nested in one: frozen, kw_only, documented, constrained."""
    assert attrs.has(cls), f"{where}: an attrs class"
    assert cls.__setattr__ is not object.__setattr__, f"{where}: frozen"
    fields = attrs.fields(cls)
    assert all(field.kw_only for field in fields), f"{where}: kw_only"
    hints = get_type_hints(cls, include_extras=False)
    summary, docs = describe_class(cls)
    assert summary, f"{cls.__name__} needs a docstring"
    assert set(docs) == {field.name for field in fields}, "Attributes: documents each field"
    for field in fields:
        tp = hints[field.name]
        optional = get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)
        # An optional field defaults to None, so that "absent" and "None" are the same.
        assert optional == (field.default is None), field.name
        _check_type(tp, field.validator, f"{where}.{field.name}")


def _check_type(tp: Any, constraint: object, where: str) -> None:
    """Every str, int and float anywhere on the wire has a constraint; every array a bound."""
    args = get_args(tp)
    if get_origin(tp) in (Union, types.UnionType):
        (tp,) = [arg for arg in args if arg is not type(None)]
        args = get_args(tp)
    if tp in (str, int, float):
        expected = Text if tp is str else Number
        assert isinstance(constraint, expected), f"{where} needs a {expected.__name__}"
    elif get_origin(tp) is list or (get_origin(tp) is tuple and args[-1:] == (Ellipsis,)):
        assert isinstance(constraint, Items), f"{where}: an array takes an Items()"
        assert constraint.max_items is not None, f"{where}: arrays on the wire are bounded"
        _check_type(args[0], constraint.item, f"{where}[]")
    elif get_origin(tp) is tuple:
        assert isinstance(constraint, Fixed), f"{where}: a fixed-length array takes a Fixed()"
        for index, (arg, item) in enumerate(zip(args, constraint.items, strict=True)):
            _check_type(arg, item, f"{where}[{index}]")
    elif attrs.has(tp):
        assert constraint is None, f"{where}: a nested object checks its own fields"
        _check_class(tp, where)


@pytest.mark.parametrize(
    "message",
    [*CLIENT_EXAMPLES.values(), *SERVER_EXAMPLES.values()],
    ids=[*CLIENT_EXAMPLES, *SERVER_EXAMPLES],
)
def test_messages_are_frozen(message: ClientMessage | ServerMessage) -> None:
    name = attrs.fields(type(message))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(message, name, None)


@attrs.frozen(kw_only=True)
class _A:
    TYPE: ClassVar[str] = "same"


@attrs.frozen(kw_only=True)
class _B:
    TYPE: ClassVar[str] = "same"


@attrs.frozen(kw_only=True)
class _NoTag:
    x: int = 0


@attrs.frozen(kw_only=True)
class _BadTag:
    TYPE: ClassVar[str] = "Bad-Tag"


@attrs.frozen(kw_only=True)
class _TypeField:
    TYPE: ClassVar[str] = "typed"
    type: str = ""


class _NotAttrs:
    TYPE: ClassVar[str] = "plain"


@pytest.mark.parametrize(
    ("union", "problem"),
    [
        (_A | _B, "share TYPE"),
        (_NoTag, "TYPE must be"),
        (_BadTag, "TYPE must be"),
        (_TypeField, "field named 'type'"),
        (_NotAttrs, "not an attrs class"),
    ],
)
def test_registry_rejects_broken_unions(union: Any, problem: str) -> None:
    with pytest.raises(TypeError, match=problem):
        tag_registry(union)


def test_registry_of_a_single_class() -> None:
    assert dict(tag_registry(_A)) == {"same": _A}


@attrs.frozen(kw_only=True)
class _Inner:
    """Nested.

    Attributes:
        n: a number without a constraint.
    """

    n: int


@attrs.frozen(kw_only=True)
class _LooseNested:
    """Nested loose.

    Attributes:
        inner: an object whose int has no constraint.
    """

    TYPE: ClassVar[str] = "loose"
    inner: _Inner


@attrs.frozen(kw_only=True)
class _Unbounded:
    """Unbounded.

    Attributes:
        xs: an array without a bound.
    """

    TYPE: ClassVar[str] = "unbounded"
    xs: tuple[int, ...] = attrs.field(validator=Items(item=Number()))


@attrs.frozen(kw_only=True)
class _LooseTuple:
    """Loose tuple.

    Attributes:
        pair: a tuple whose str has no constraint.
    """

    TYPE: ClassVar[str] = "loose_tuple"
    pair: tuple[int, str] = attrs.field(validator=Fixed(Number(), None))


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (_LooseNested, r"_LooseNested.inner.n needs a Number"),
        (_Unbounded, r"_Unbounded.xs: arrays on the wire are bounded"),
        (_LooseTuple, r"_LooseTuple.pair\[1\] needs a Text"),
    ],
)
def test_the_rules_reach_nested_values(cls: type[Any], problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        _check_class(cls, cls.__name__)
