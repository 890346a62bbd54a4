"""The error taxonomy: one base class and one class per outcome.

Every error that crosses a package boundary is exactly one of these, and each class
maps to one HTTP status, as Docker's errdefs do::

    SeawayError
     ├── InvalidParameter      400  bad or inconsistent input
     │    └── ProgramNotRunnable    a container's program is missing or not executable
     ├── Forbidden             403  never allowed in this state
     ├── NotFound              404  unknown network, sandbox, endpoint or driver
     ├── Conflict              409  a clash the user can resolve
     ├── InternalError         500  kernel failures and bugs
     │    ├── KernelError           one failed kernel operation (op, target, errno)
     │    └── CleanupIncomplete     a teardown in which some steps failed
     ├── Unsupported           501  not implemented by Seaway
     └── Unavailable           503  a resource is exhausted or a dependency is down

Messages read ``<action> <object> <value>: <reason>``, lowercase, no final period, and
copy Docker's text where Docker has one.
"""

from __future__ import annotations


class SeawayError(Exception):
    """Base of every error Seaway raises on purpose."""

    status = 500


class InvalidParameter(SeawayError):
    status = 400


class Forbidden(SeawayError):
    status = 403


class NotFound(SeawayError):
    status = 404


class Conflict(SeawayError):
    status = 409


class InternalError(SeawayError):
    status = 500


class Unsupported(SeawayError):
    status = 501


class Unavailable(SeawayError):
    status = 503


class ProgramNotRunnable(InvalidParameter):
    """A container's program does not exist (exit code 127) or cannot be run (126): the
    start fails with Docker's 400 and the container keeps the code, as in Docker."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class KernelError(InternalError):
    """A kernel operation failed: ``<op> <target>: <reason>``."""

    def __init__(self, op: str, target: str, errno: int | None, reason: str) -> None:
        super().__init__(f"{op} {target}: {reason}")
        self.op = op
        self.target = target
        self.errno = errno


class CleanupIncomplete(InternalError):
    """Teardown tried every step; these ones failed."""

    def __init__(self, what: str, failures: list[BaseException]) -> None:
        lines = "".join(f"\n  {f}" for f in failures)
        super().__init__(f"{what} left {len(failures)} step(s) undone:{lines}")
        self.failures = failures


def status_for(exc: BaseException) -> int:
    """The HTTP status of an exception; anything not ours is a 500."""
    if isinstance(exc, SeawayError):
        return exc.status
    return 500
