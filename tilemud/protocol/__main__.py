"""``python -m tilemud.protocol``: regenerate or check the schemas and the doc reference.

``--write`` rewrites ``tilemud/protocol/schemas/`` and the generated block of the protocol
document; ``--check`` (the default) only reports drift and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tilemud.protocol._reference import replace_reference, write_reference
from tilemud.protocol._schema import SCHEMA_DIR, check_schemas, write_schemas


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tilemud.protocol", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite instead of checking")
    parser.add_argument("--schemas", type=Path, default=SCHEMA_DIR, help="schema directory")
    parser.add_argument(
        "--doc", type=Path, default=Path("docs/protocol.md"), help="the protocol document"
    )
    args = parser.parse_args(argv)
    if args.write:
        for path in write_schemas(args.schemas):
            print(f"updated {path}")
        if args.doc.is_file() and write_reference(args.doc):
            print(f"updated {args.doc}")
        return 0
    drifted = check_schemas(args.schemas)
    for name in drifted:
        print(f"schema out of date: {name}", file=sys.stderr)
    if args.doc.is_file():
        text = args.doc.read_text(encoding="utf-8")
        if replace_reference(text) != text:
            drifted.append(str(args.doc))
            print(f"reference out of date: {args.doc}", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
