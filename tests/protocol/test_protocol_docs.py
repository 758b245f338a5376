"""docs/protocol.md carries the generated reference of the current code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tilemud.protocol import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    STREAM_MESSAGES,
    CloseCode,
    ErrorCode,
    decode_client,
    decode_server,
)
from tilemud.protocol.__main__ import main
from tilemud.protocol._reference import (
    BEGIN_MARKER,
    END_MARKER,
    render_reference,
    replace_reference,
    write_reference,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_protocol_doc_reference_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert replace_reference(text) == text, "run `python -m tilemud.protocol --write`"


def test_reference_lists_every_message_and_code() -> None:
    reference = render_reference()
    for tag in [*CLIENT_MESSAGES, *SERVER_MESSAGES]:
        assert f"#### `{tag}`" in reference
    for code in ErrorCode:
        assert f"| `{code.value}` |" in reference
    for close in CloseCode:
        assert f"| {int(close)} | `{close.name}` |" in reference


def test_replace_reference_needs_the_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        replace_reference("# no markers here\n")


def test_write_reference_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "protocol.md"
    doc.write_text(
        f"# Title\n\n{BEGIN_MARKER}\nOLD-CONTENT\n{END_MARKER}\n\nEnd.\n", encoding="utf-8"
    )
    schemas = tmp_path / "schemas"
    args = ["--schemas", str(schemas), "--doc", str(doc)]
    assert main(args) == 1
    assert "out of date" in capsys.readouterr().err
    assert main([*args, "--write"]) == 0
    assert main(args) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n")
    assert text.endswith("\n\nEnd.\n")
    assert "OLD-CONTENT" not in text
    assert write_reference(doc) is False


def _example_frames() -> list[dict[str, Any]]:
    """Every one-line JSON object with a ``type`` in the document's ``json`` blocks."""
    frames: list[dict[str, Any]] = []
    for block in re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue  # a line of a multi-line example
            if isinstance(value, dict) and "type" in value:
                frames.append(value)
    return frames


def test_example_frames_in_the_doc_are_valid() -> None:
    frames = _example_frames()
    shown = {frame["type"] for frame in frames}
    assert set(CLIENT_MESSAGES) - {"ping"} <= shown, "every client request has an example"
    assert set(STREAM_MESSAGES) | {"joined", "left", "place_result"} <= shown
    for frame in frames:
        text = json.dumps(frame)
        if frame["type"] in CLIENT_MESSAGES:
            decode_client(text)
        else:
            decode_server(text)
