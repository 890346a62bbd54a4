"""What the CLI prints: Docker-style tables, JSON (``--format json``), short IDs, human
durations and sizes. Pure formatting; the commands decide what goes in."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

SHORT_ID = 12
ELLIPSIS = "…"


class UsageError(Exception):
    """Bad command-line input found after parsing; printed as it is, exit status 1."""


def check_format(fmt: str | None) -> bool:
    """True for ``--format json``; docker's Go templates are not supported."""
    if fmt in (None, "", "table"):
        return False
    if fmt == "json":
        return True
    raise UsageError(f"unsupported --format {fmt!r}: Seaway supports 'json' and 'table'")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns padded to their widest cell and three spaces apart, as docker prints them."""
    rows = [list(r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for line in [list(headers), *rows]:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=True)]
        print("   ".join(cells).rstrip())


def json_lines(items: Iterable[dict[str, Any]]) -> None:
    """``--format json`` on a list: one JSON object per line, as docker prints."""
    for item in items:
        print(json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def json_array(items: list[Any]) -> None:
    """``inspect``: an indented JSON array."""
    print(json.dumps(items, indent=4))


def short_id(full: str) -> str:
    return full.removeprefix("sha256:")[:SHORT_ID]


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def human_duration(seconds: float) -> str:
    """Docker's ``units.HumanDuration``: "5 seconds", "About a minute", "3 days"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def go_time(value: str | int | float) -> str:
    """An RFC 3339 string or Unix seconds as Go prints a time: "2024-05-01 10:00:00.5 +0000 UTC"."""
    try:
        when = (
            datetime.fromtimestamp(value, UTC)
            if isinstance(value, int | float)
            else datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        )
    except ValueError:
        return str(value)
    fraction = f"{when.microsecond:06d}".rstrip("0")
    return when.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


def ago(unix_seconds: int | float) -> str:
    if not unix_seconds:
        return "N/A"
    return f"{human_duration(time.time() - unix_seconds)} ago"


def human_size(size: int | float) -> str:
    """Docker's ``units.HumanSizeWithPrecision(size, 3)``: decimal units, "4.26MB"."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return f"{value:.3g}PB"


def error(message: str) -> None:
    print(message, file=sys.stderr)
