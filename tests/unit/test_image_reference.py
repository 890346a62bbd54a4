"""``docker tag`` targets parsed as dockerd parses them (texts checked against dockerd 20.10)."""

from __future__ import annotations

import pytest

from seaway.errors import InvalidParameter
from seaway.runtime.reference import is_reference as reference_is_valid
from seaway.runtime.reference import parse_tag_target


@pytest.mark.parametrize(
    ("repo", "tag", "target"),
    [
        ("alpine", "3.10", "alpine:3.10"),
        ("docker.io/library/alpine", "3.10", "alpine:3.10"),
        ("docker.io/team/app", "", "team/app:latest"),
        ("registry.example:5000/team/app", "v1", "registry.example:5000/team/app:v1"),
        ("good:embedded", "", "good:embedded"),
    ],
)
def test_targets_are_normalized_to_the_familiar_name(repo: str, tag: str, target: str) -> None:
    assert parse_tag_target(repo, tag) == target


@pytest.mark.parametrize(
    ("repo", "tag", "message"),
    [
        ("Bad", "x", "invalid reference format: repository name must be lowercase"),
        ("good", "bad:tag", "invalid tag format"),
        ("", "", "invalid reference format"),
        ("sha256", "abc", "refusing to create an ambiguous tag using digest algorithm as name"),
    ],
)
def test_bad_targets_get_dockerds_texts(repo: str, tag: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        parse_tag_target(repo, tag)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("reference", "valid"),
    [
        ("busybox", True), ("busybox:latest", True), ("localhost:5000/a/b:1", True),
        ("busybox@sha256:" + "a" * 64, True), ("Bad:Image:x", False), ("UPPER", False), ("a:", False),
        ("x:y:z", False), ("busybox@sha256:short", False),
    ],
)  # fmt: skip
def test_service_images_must_be_named_references(reference: str, valid: bool) -> None:
    assert reference_is_valid(reference) is valid
