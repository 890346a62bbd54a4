"""The OpenAPI description seawayd serves: every implemented route is in it, and it is
what deriving it from Docker's description gives (``python -m seaway.testing.openapi``)."""

from __future__ import annotations

import json

import pytest

from seaway.daemon.api.routes_openapi import SPEC
from seaway.daemon.api.routes_system import API_VERSION
from seaway.testing import openapi


def described() -> set[tuple[str, str]]:
    spec = json.loads(SPEC.read_text())
    return {(m, openapi._shape(p)) for p, ops in spec["paths"].items() for m in ops}


def test_every_route_seawayd_serves_is_described() -> None:
    assert openapi.served_routes() - described() == {("get", "/openapi.json")}


def test_the_committed_description_is_derived_from_dockers() -> None:
    if not openapi.DEFAULT_REFERENCE.exists():
        pytest.skip(f"Docker's API description is not at {openapi.DEFAULT_REFERENCE} (shared/reference)")
    import yaml

    reference = yaml.safe_load(openapi.DEFAULT_REFERENCE.read_text())
    derived = openapi.derive(reference, openapi.served_routes(), API_VERSION)
    assert json.loads(SPEC.read_text()) == json.loads(json.dumps(derived)), (
        "regenerate with python -m seaway.testing.openapi"
    )
