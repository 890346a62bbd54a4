"""Options shared by every test tier."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from seaway.testing.golden import UPDATE_ENV

# property tests assert behaviour, never speed: no per-example deadline (a loaded CI
# machine would otherwise fail them at random)
settings.register_profile("seaway", deadline=None)
settings.load_profile("seaway")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/testdata/golden files with the current output instead of comparing",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-goldens"):
        os.environ[UPDATE_ENV] = "1"


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.getoption("--update-goldens"):
        os.environ.pop(UPDATE_ENV, None)
