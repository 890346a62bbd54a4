"""Docker's task states in their order, and the timestamps tasks carry. Pure.

A task's ``Status.State`` only moves forward through :data:`STATES`; ``DesiredState`` uses
the same scale (``ready`` < ``running`` < ``shutdown`` < ``remove``), so "desired at most
running" and "past running" are comparisons of ranks, as swarmkit compares its enum.
Timestamps are Docker's RFC 3339 strings in UTC; the orchestrator works in float seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

STATES = (
    "new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting",
    "running", "complete", "shutdown", "failed", "rejected", "remove", "orphaned",
)  # fmt: skip
_RANK = {state: i for i, state in enumerate(STATES)}
RUNNING = _RANK["running"]
ASSIGNED = _RANK["assigned"]

# states a task reaches by itself (as opposed to ``shutdown``, which follows our request)
ENDED_BY_ITSELF = frozenset({"complete", "failed", "rejected", "orphaned"})


def rank(state: str | None) -> int:
    """The position of ``state`` in Docker's order (an unknown state counts as ``new``)."""
    return _RANK.get(state or "new", 0)


def state(task: dict[str, Any]) -> str:
    return str((task.get("Status") or {}).get("State") or "new")


def past_running(task: dict[str, Any]) -> bool:
    """The task stopped (or never will run): its observed state is beyond ``running``."""
    return rank(state(task)) > RUNNING


def desired_runnable(task: dict[str, Any]) -> bool:
    """The orchestrator still wants this task to run (desired ``ready`` or ``running``)."""
    return rank(task.get("DesiredState")) <= RUNNING


def may_be_running(task: dict[str, Any]) -> bool:
    """An agent may hold a container for it: assigned to a node and not yet stopped."""
    return bool(task.get("NodeID")) and ASSIGNED <= rank(state(task)) <= RUNNING


def parse_time(text: str | None) -> float:
    """Seconds since the epoch of Docker's RFC 3339 timestamp (0 when absent or unreadable)."""
    if not text:
        return 0.0
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return 0.0


def format_time(seconds: float) -> str:
    """Docker's RFC 3339 form of ``seconds`` since the epoch, in UTC."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def status_time(task: dict[str, Any]) -> float:
    return parse_time((task.get("Status") or {}).get("Timestamp"))


def created_time(task: dict[str, Any]) -> float:
    return parse_time(task.get("CreatedAt"))


def seconds(nanoseconds: Any, default: float) -> float:
    """A Docker duration (integer nanoseconds) in seconds; ``default`` when absent."""
    if nanoseconds is None:
        return default
    return int(nanoseconds) / 1e9
