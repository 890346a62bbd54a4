"""The error taxonomy and its one HTTP mapping."""

from __future__ import annotations

import errno

import pytest

from seaway.errors import (
    CleanupIncomplete,
    Conflict,
    Forbidden,
    InternalError,
    InvalidParameter,
    KernelError,
    NotFound,
    SeawayError,
    Unavailable,
    Unsupported,
    status_for,
)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InvalidParameter("invalid subnet 10.0.0.0/33"), 400),
        (Forbidden("network foo has active endpoints (c1)"), 403),
        (NotFound("network foo not found"), 404),
        (Conflict("network with name foo already exists"), 409),
        (InternalError("bug"), 500),
        (Unsupported('driver "weave" is not supported'), 501),
        (Unavailable("no available addresses on this pool"), 503),
        (KernelError("create bridge", "br-1", errno.EPERM, "Operation not permitted"), 500),
        (CleanupIncomplete("delete network foo", [OSError("x")]), 500),
        (SeawayError("plain"), 500),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_status_for_maps_each_error_class_to_its_http_status(exc: BaseException, status: int) -> None:
    assert status_for(exc) == status


def test_subclass_of_an_error_class_keeps_its_status() -> None:
    class NameTaken(Conflict):
        pass

    assert status_for(NameTaken("network with name foo already exists")) == 409


@pytest.mark.parametrize("exc", [ValueError("x"), KeyError("k"), OSError(errno.EPERM, "nope"), KeyboardInterrupt()])
def test_status_for_foreign_exception_is_500(exc: BaseException) -> None:
    assert status_for(exc) == 500


def test_error_classes_do_not_catch_each_other() -> None:
    with pytest.raises(InvalidParameter):
        try:
            raise InvalidParameter("bad")
        except (Forbidden, NotFound, Conflict, InternalError, Unsupported, Unavailable):
            pytest.fail("an InvalidParameter was caught as another outcome")


def test_kernel_error_reads_op_target_reason_and_keeps_its_parts() -> None:
    exc = KernelError("create bridge", "br-3f2a9c1d0e4b", errno.EPERM, "Operation not permitted")
    assert str(exc) == "create bridge br-3f2a9c1d0e4b: Operation not permitted"
    assert (exc.op, exc.target, exc.errno) == ("create bridge", "br-3f2a9c1d0e4b", errno.EPERM)
    assert isinstance(exc, InternalError)


def test_kernel_error_without_errno_is_allowed() -> None:
    exc = KernelError("apply nftables", "start-up ruleset", None, "syntax error")
    assert exc.errno is None
    assert str(exc) == "apply nftables start-up ruleset: syntax error"


def test_cleanup_incomplete_lists_every_failure_on_its_own_line() -> None:
    failures: list[BaseException] = [
        KernelError("delete link", "veth1a2b3c4", errno.EBUSY, "Device or resource busy"),
        OSError("remove /run/seaway/netns/abc: Permission denied"),
    ]
    exc = CleanupIncomplete("delete network foo", failures)
    assert str(exc) == (
        "delete network foo left 2 step(s) undone:\n"
        "  delete link veth1a2b3c4: Device or resource busy\n"
        "  remove /run/seaway/netns/abc: Permission denied"
    )
    assert exc.failures == failures
    assert status_for(exc) == 500
