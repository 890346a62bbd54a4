"""assert_golden: what a test author sees when output and golden file agree or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaway.testing import golden
from seaway.testing.golden import UPDATE_ENV, assert_golden


@pytest.fixture(autouse=True)
def _comparing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    monkeypatch.setattr(golden, "_written", {})


def test_matching_text_passes(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("one\ntwo\n")
    assert_golden("a.json", "one\ntwo\n", golden_dir=tmp_path)


def test_differing_text_fails_with_a_unified_diff(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("one\ntwo\nthree\n")
    with pytest.raises(AssertionError) as exc:
        assert_golden("a.json", "one\nTWO\nthree\n", golden_dir=tmp_path)
    message = str(exc.value)
    assert "--update-goldens" in message
    assert "-two\n" in message and "+TWO\n" in message
    assert f"--- {tmp_path / 'a.json'} (golden)" in message


def test_missing_golden_fails_telling_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(
        AssertionError, match=r"golden file .*nope\.json is missing: create it with `pytest --update-goldens`"
    ):
        assert_golden("nope.json", "x\n", golden_dir=tmp_path)


def test_update_mode_writes_new_and_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UPDATE_ENV, "1")
    (tmp_path / "old.txt").write_text("before\n")
    assert_golden("old.txt", "after\n", golden_dir=tmp_path)
    assert_golden("sub/new.txt", "fresh\n", golden_dir=tmp_path)
    assert (tmp_path / "old.txt").read_text() == "after\n"
    assert (tmp_path / "sub" / "new.txt").read_text() == "fresh\n"


def test_update_mode_refuses_two_scenarios_writing_different_text_to_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UPDATE_ENV, "1")
    assert_golden("shared.txt", "same\n", golden_dir=tmp_path)
    assert_golden("shared.txt", "same\n", golden_dir=tmp_path)
    with pytest.raises(AssertionError, match="scenarios sharing golden file .*shared.txt disagree"):
        assert_golden("shared.txt", "different\n", golden_dir=tmp_path)
    assert (tmp_path / "shared.txt").read_text() == "same\n"


def test_default_directory_is_testdata_golden_above_the_calling_test() -> None:
    here = Path(__file__).resolve()
    expected = here.parents[2] / "testdata" / "golden"
    assert golden._golden_dir_of(here) == expected


def test_no_testdata_golden_above_the_caller_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no testdata/golden directory above"):
        golden._golden_dir_of(tmp_path / "test_x.py")
