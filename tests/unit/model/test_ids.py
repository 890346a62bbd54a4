"""Identifiers, names and MAC addresses as a user sees them."""

from __future__ import annotations

import types

import pytest

from seaway.errors import InvalidParameter
from seaway.model import ids
from seaway.model.ids import is_full_id, new_id, new_mac, short_id, validate_mac, validate_network_name

# --- network names ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mynet", "my-net_2.0", "with space", "réseau", "x", "a" * 200])
def test_network_name_with_visible_characters_is_accepted(name: str) -> None:
    assert validate_network_name(name) == name


@pytest.mark.parametrize("name", ["", " ", "\t", "my\nnet", "bell\x07", "del\x7f"])
def test_network_name_blank_or_with_control_characters_is_refused(name: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        validate_network_name(name)
    assert str(exc.value) == f"invalid name: {name!r}: a network name needs visible characters"


# --- IDs ----------------------------------------------------------------------------


def test_new_id_is_64_lowercase_hex_characters() -> None:
    for _ in range(200):
        value = new_id()
        assert len(value) == 64
        assert set(value) <= set("0123456789abcdef")
        assert is_full_id(value)


def test_new_ids_are_unique() -> None:
    assert len({new_id() for _ in range(1000)}) == 1000


def test_new_id_short_form_is_never_all_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    all_digit_short_forms = ["123456789012" + "a" * 52, "0" * 64]
    good = "12345678901a" + "0" * 52
    draws = iter([*all_digit_short_forms, good])
    monkeypatch.setattr(ids, "secrets", types.SimpleNamespace(token_hex=lambda n: next(draws)))
    assert new_id() == good


def test_short_id_is_the_first_12_characters() -> None:
    assert short_id("3f2a9c1d0e4b" + "0" * 52) == "3f2a9c1d0e4b"


@pytest.mark.parametrize("value", ["a" * 63, "a" * 65, "A" * 64, "g" * 64, "3f2a9c1d0e4b", ""])
def test_is_full_id_refuses_anything_but_64_lowercase_hex(value: str) -> None:
    assert not is_full_id(value)


# --- MAC addresses ------------------------------------------------------------------


def test_new_mac_is_locally_administered_unicast() -> None:
    for _ in range(500):
        mac = new_mac()
        first = int(mac[:2], 16)
        assert first & 0x01 == 0, f"{mac} is multicast"
        assert first & 0x02 == 0x02, f"{mac} is not locally administered"
        assert validate_mac(mac) == mac


@pytest.mark.parametrize(
    ("raw", "mac"),
    [
        (b"\xff" * 6, "fe:ff:ff:ff:ff:ff"),
        (b"\x00" * 6, "02:00:00:00:00:00"),
        (b"\x01\x02\x03\x04\x05\x06", "02:02:03:04:05:06"),
    ],
)
def test_new_mac_forces_only_the_two_low_bits_of_the_first_octet(
    monkeypatch: pytest.MonkeyPatch, raw: bytes, mac: str
) -> None:
    monkeypatch.setattr(ids, "secrets", types.SimpleNamespace(token_bytes=lambda n: raw[:n]))
    assert new_mac() == mac


def test_validate_mac_returns_the_lowercase_form() -> None:
    assert validate_mac("02:42:AC:11:00:02") == "02:42:ac:11:00:02"


@pytest.mark.parametrize(
    "mac",
    [
        "01:00:5e:00:00:01",  # multicast
        "ff:ff:ff:ff:ff:ff",  # broadcast
        "02-42-ac-11-00-02",
        "02:42:ac:11:00",
        "02:42:ac:11:00:02:03",
        "0242ac110002",
        "02:42:ac:11:00:0g",
        "",
    ],
)
def test_validate_mac_refuses_malformed_or_multicast_addresses(mac: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        validate_mac(mac)
    assert str(exc.value) == f"invalid MAC address {mac}: expected a unicast address like 02:42:ac:11:00:02"
