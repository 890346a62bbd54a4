"""``docker tag`` targets parsed as dockerd parses them (texts checked against dockerd 20.10)."""

from __future__ import annotations

import pytest

from seaway.errors import InvalidParameter
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
