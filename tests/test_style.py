"""House rules the linters do not check: every silenced warning says why, on its own line."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SILENCED = re.compile(r"# (noqa(?::[ A-Z0-9,]+)?|type: ignore(?:\[[a-z, -]+\])?)(?P<rest>.*)$")


def test_every_noqa_and_type_ignore_gives_its_reason():
    bare = []
    for folder in ("voice", "intents", "knowledge", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
                found = _SILENCED.search(line)
                if found and len(found.group("rest").strip(" -:#()")) < 4:
                    bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "\n".join(bare)
