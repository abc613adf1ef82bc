"""Run mypy on a snippet of code, as `make test` runs it over the package."""

from __future__ import annotations

from pathlib import Path


def mypy_errors(code: str, folder: Path) -> list[str]:
    """The error lines mypy reports for CODE (written to a file in FOLDER)."""
    from mypy import api

    snippet = folder / "snippet.py"
    snippet.write_text(code, encoding="utf-8")
    out, _, _ = api.run(["--cache-dir", str(folder / "mypy-cache"), "--no-error-summary",
                         "--follow-imports=silent", str(snippet)])
    return [line for line in out.splitlines() if ": error:" in line]
