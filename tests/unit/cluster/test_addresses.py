"""Parsing --listen-addr / --advertise-addr forms (pure parts)."""

from __future__ import annotations

import pytest

from seaway.cluster import addresses
from seaway.errors import InvalidParameter


@pytest.mark.parametrize(
    ("text", "expected"),
    [("192.0.2.1", ("192.0.2.1", 2377)), ("192.0.2.1:4000", ("192.0.2.1", 4000)), ("eth0", ("eth0", 2377)),
     ("[2001:db8::1]:2377", ("2001:db8::1", 2377)), ("2001:db8::1", ("2001:db8::1", 2377))],
)  # fmt: skip
def test_split(text: str, expected: tuple[str, int]) -> None:
    assert addresses.split(text) == expected


@pytest.mark.parametrize("bad", ["192.0.2.1:http", "192.0.2.1:0", "192.0.2.1:70000"])
def test_split_refuses_bad_ports(bad: str) -> None:
    with pytest.raises(InvalidParameter, match="invalid port"):
        addresses.split(bad)
