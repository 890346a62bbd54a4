"""Golden files: compare generated text with a reviewed copy under ``tests/testdata/golden``.

``assert_golden(name, text)`` fails with a unified diff when the text differs from the
file, and with the command that creates it when the file is missing. When the environment
has ``SEAWAY_UPDATE_GOLDENS=1`` (``pytest --update-goldens`` sets it) the file is
rewritten instead, and the diff is reviewed in the pull request.

Without ``golden_dir``, the directory is the first ``testdata/golden`` found walking up
from the calling test file, so ``tests/golden/test_x.py`` uses ``tests/testdata/golden``.
"""

from __future__ import annotations

import difflib
import inspect
import os
from pathlib import Path

UPDATE_ENV = "SEAWAY_UPDATE_GOLDENS"

# what this process wrote, so scenarios sharing one file cannot overwrite each other
_written: dict[Path, str] = {}


def updating() -> bool:
    return os.environ.get(UPDATE_ENV) == "1"


def assert_golden(name: str, text: str, golden_dir: Path | None = None) -> None:
    """Check ``text`` against ``<golden_dir>/<name>``, or rewrite the file when updating."""
    if golden_dir is None:
        caller = inspect.currentframe().f_back  # type: ignore[union-attr]
        golden_dir = _golden_dir_of(Path(caller.f_code.co_filename))  # type: ignore[union-attr]
    path = golden_dir / name
    if updating():
        earlier = _written.setdefault(path.resolve(), text)
        if earlier != text:
            raise AssertionError(
                f"scenarios sharing golden file {path} disagree; give them separate files:\n"
                + _diff(earlier, text, f"{name} (written earlier)", f"{name} (this scenario)")
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return
    if not path.exists():
        raise AssertionError(
            f"golden file {path} is missing: create it with `pytest --update-goldens` "
            f"(or {UPDATE_ENV}=1), then review it before committing"
        )
    expected = path.read_text()
    if expected == text:
        return
    diff = _diff(expected, text, f"{path} (golden)", f"{name} (actual)")
    raise AssertionError(
        f"output differs from golden file {path}; if the change is intended, "
        f"rerun with `pytest --update-goldens` and review the diff:\n{diff}"
    )


def _diff(old: str, new: str, old_name: str, new_name: str) -> str:
    return "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name)
    )


def _golden_dir_of(caller: Path) -> Path:
    for parent in caller.resolve().parents:
        candidate = parent / "testdata" / "golden"
        if candidate.is_dir():
            return candidate
    raise AssertionError(f"no testdata/golden directory above {caller}: pass golden_dir explicitly")
