"""The pytest side of the VM runner: ``@pytest.mark.kernel("ipvlan", "8021q")``.

A test so marked needs those kernel features (names from ``seaway.kernel.features``).
When this machine's kernel has them all, the test runs here as usual. Otherwise it runs
inside the VM of ``seaway.testing.vm``: every such test of the session goes into one
batch, the VM boots once (at the first of them) and runs that batch with the same pytest,
and each test's outcome inside the VM becomes its outcome here, with the VM's report
(traceback and captured output) as its failure text. If the VM cannot run at all (no
qemu, no kernel package), the tests fail and say why; they are never skipped quietly.

Inside the guest (``SEAWAY_VM_GUEST=1``) the marked tests simply run, and each report is
appended as one JSON line to ``$SEAWAY_VM_RESULTS`` for the host to read.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from seaway.kernel import features
from seaway.testing import vm

GUEST_ENV = "SEAWAY_VM_GUEST"
RESULTS_ENV = "SEAWAY_VM_RESULTS"
GUEST_RESULTS = "/tmp/out/results.jsonl"


def _features_of(item: pytest.Item) -> tuple[str, ...]:
    names: list[str] = []
    for mark in item.iter_markers("kernel"):
        names.extend(mark.args)
    unknown = sorted(set(names) - set(features.CONFIG))
    if unknown:
        raise pytest.UsageError(
            f"{item.nodeid}: unknown kernel feature {unknown[0]!r} (known: {', '.join(features.CONFIG)}; "
            "add a probe to seaway.kernel.features)"
        )
    return tuple(dict.fromkeys(names))


# ------------------------------------------------------------------ guest side


class GuestReporter:
    """Inside the VM: one JSON line per test phase."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "longrepr": report.longreprtext,
            "sections": [[title, text] for title, text in report.sections],
            "duration": report.duration,
        }
        if report.skipped and isinstance(report.longrepr, tuple):
            record["longrepr"] = str(report.longrepr[2])
        with open(self._path, "a") as out:
            out.write(json.dumps(record) + "\n")

    @pytest.hookimpl
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        wanted = _features_of(item)
        if wanted:
            found = features.probe()
            missing = [f for f in wanted if not found[f]]
            if missing:
                pytest.fail("the VM's kernel lacks " + ", ".join(features.missing_message(f) for f in missing))


# ------------------------------------------------------------------ host side


class GuestFailure(Exception):
    """A test failed inside the VM (or could not run there); the text says how."""


@dataclass
class Batch:
    rootdir: Path
    nodeids: list[str] = field(default_factory=list)
    preload: set[str] = field(default_factory=set)
    results: dict[str, list[dict[str, object]]] | None = None
    error: str = ""
    console: str = ""
    seconds: float = 0.0
    out_dir: Path | None = None

    def outcome(self, nodeid: str) -> list[dict[str, object]]:
        if self.results is None and not self.error:
            self._boot()
        if self.error:
            raise GuestFailure(f"the VM test runner could not run: {self.error}")
        assert self.results is not None
        records = self.results.get(nodeid)
        if not records:
            raise GuestFailure(f"{nodeid} did not run in the VM; the guest's console ends with:\n{_tail(self.console)}")
        return records

    def _boot(self) -> None:
        self.out_dir = Path(tempfile.mkdtemp(prefix="seaway-vm-"))
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            GUEST_ENV: "1",
            RESULTS_ENV: GUEST_RESULTS,
        }
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(self.rootdir)]
        try:
            result = vm.run(
                [*command, *self.nodeids],
                cwd=self.rootdir,
                env=env,
                out_dir=self.out_dir,
                preload=tuple(sorted(self.preload)),
            )
        except vm.VMUnavailable as exc:
            self.error = str(exc)
            return
        self.console, self.seconds = result.console, result.seconds
        self.results = {}
        results = self.out_dir / "results.jsonl"
        if results.exists():
            for line in results.read_text().splitlines():
                record = json.loads(line)
                self.results.setdefault(record["nodeid"], []).append(record)

    def close(self) -> None:
        if self.out_dir is not None:
            shutil.rmtree(self.out_dir, ignore_errors=True)


class VMItem(pytest.Item):
    """A test that runs in the VM; its result here is the result there."""

    def __init__(self, *, batch: Batch, wanted: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.batch = batch
        self.wanted = wanted

    def runtest(self) -> None:
        records = self.batch.outcome(self.nodeid)
        for record in records:
            if record["outcome"] == "failed":
                raise GuestFailure(_describe(record))
        for record in records:
            if record["outcome"] == "skipped":
                pytest.skip(f"(in the VM) {record['longrepr']}")

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def,override]
        if isinstance(excinfo.value, GuestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):  # type: ignore[no-untyped-def,override]
        return self.path, None, f"{self.name} [VM: {', '.join(self.wanted)}]"


def _describe(record: dict[str, object]) -> str:
    parts = [f"failed in the VM ({record['when']}):", str(record["longrepr"])]
    for title, text in record.get("sections", []):  # type: ignore[union-attr]
        parts.append(f"--- {title} ---\n{text}")
    return "\n".join(parts)


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


class HostRunner:
    """On the host: send marked tests whose features this kernel lacks to the VM."""

    def __init__(self, config: pytest.Config) -> None:
        self.batch = Batch(rootdir=Path(str(config.rootpath)))
        self._found: dict[str, bool] | None = None

    def _host_features(self) -> dict[str, bool]:
        if self._found is None:
            self._found = features.probe()
        return self._found

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if os.geteuid() != 0:
            return  # kernel tests are skipped without root anyway (netns marker)
        for index, item in enumerate(items):
            wanted = _features_of(item)
            if not wanted or all(self._host_features()[f] for f in wanted):
                continue
            replacement = VMItem.from_parent(item.parent, name=item.name, batch=self.batch, wanted=wanted)
            replacement.own_markers.extend(item.own_markers)
            replacement.keywords.update(dict(item.keywords))
            items[index] = replacement
            self.batch.nodeids.append(item.nodeid)
            self.batch.preload.update(features.MODULE[f] for f in wanted)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        if self.batch.nodeids and (self.batch.results is not None or self.batch.error):
            state = (
                f"failed to run: {self.batch.error.splitlines()[0]}"
                if self.batch.error
                else f"{self.batch.seconds:.0f} s"
            )
            terminalreporter.write_line(f"seaway VM runner: {len(self.batch.nodeids)} test(s) in one VM, {state}")

    @pytest.hookimpl
    def pytest_unconfigure(self) -> None:
        self.batch.close()


def register(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kernel(*features): needs these kernel features (seaway.kernel.features); runs in the VM "
        "of seaway.testing.vm when this machine's kernel lacks one",
    )
    if os.environ.get(GUEST_ENV):
        config.pluginmanager.register(GuestReporter(Path(os.environ[RESULTS_ENV])), "seaway-vm-guest")
    else:
        config.pluginmanager.register(HostRunner(config), "seaway-vm-host")
