"""The message classes and registries: the rules every wire message must follow."""

from __future__ import annotations

import types
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

import attrs
import pytest

import tilemud.protocol
from tests.protocol.protocol_support import CLIENT_EXAMPLES, SERVER_EXAMPLES
from tilemud.protocol import CLIENT_MESSAGES, SERVER_MESSAGES, ClientMessage, ServerMessage
from tilemud.protocol._fields import Items, Number, Text
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
        "CLIENT_MESSAGES",
        "CLOSE_CODES",
        "ClientMessage",
        "CloseCode",
        "CloseCodeInfo",
        "ERROR_CODES",
        "ErrorFrame",
        "ErrorCode",
        "ErrorCodeInfo",
        "Hello",
        "MAX_RID_LENGTH",
        "MAX_TOKEN_LENGTH",
        "PROTOCOL_VERSION",
        "Ping",
        "Pong",
        "SCHEMA_DIR",
        "SERVER_MESSAGES",
        "SUPPORTED_VERSIONS",
        "ServerMessage",
        "Welcome",
        "binary_frame_error",
        "check_schemas",
        "close_code_for",
        "decode_client",
        "decode_hello",
        "decode_server",
        "encode_client",
        "encode_server",
        "error_reply",
        "generate_schemas",
        "write_schemas",
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
    fields = attrs.fields(cls)
    assert all(field.kw_only for field in fields), "messages are kw_only"
    hints = get_type_hints(cls, include_extras=False)
    summary, docs = describe_class(cls)
    assert summary, f"{cls.__name__} needs a docstring"
    assert set(docs) == {field.name for field in fields}, "Attributes: documents each field"
    for field in fields:
        tp = hints[field.name]
        optional = get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)
        # An optional field defaults to None, so that "absent" and "None" are the same.
        assert optional == (field.default is None), field.name
        inner = next(arg for arg in get_args(tp) if arg is not type(None)) if optional else tp
        if inner in (str, int, float):
            expected = Text if inner is str else Number
            assert isinstance(field.validator, expected), f"{field.name} needs a {expected}"
        if get_origin(inner) in (tuple, list):
            assert field.validator is None or isinstance(field.validator, Items)


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
