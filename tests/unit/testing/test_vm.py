"""The VM runner's pure parts: module order, the initramfs archive, honest failures."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from seaway.testing import vm
from seaway.testing.vmtests import Batch, GuestFailure


def fake_kernel(tmp_path: Path) -> vm.GuestKernel:
    kernel = vm.GuestKernel(tmp_path, "9.9.9-test")
    kernel.modules.mkdir(parents=True)
    deps = {
        "kernel/fs/9p/9p.ko": ["kernel/net/9p/9pnet.ko", "kernel/fs/netfs/netfs.ko"],
        "kernel/net/9p/9pnet.ko": [],
        "kernel/fs/netfs/netfs.ko": [],
        "kernel/net/9p/9pnet_virtio.ko": ["kernel/net/9p/9pnet.ko", "kernel/drivers/virtio/virtio.ko"],
        "kernel/drivers/virtio/virtio.ko": [],
        "kernel/drivers/virtio/virtio_pci.ko": ["kernel/drivers/virtio/virtio.ko"],
    }
    (kernel.modules / "modules.dep").write_text("".join(f"{m}: {' '.join(d)}\n" for m, d in deps.items()))
    for module in deps:
        path = kernel.modules / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x7fELF " + module.encode())
    return kernel


def test_modules_come_after_their_dependencies_once_each(tmp_path: Path) -> None:
    order = [p.name for p in vm.module_order(fake_kernel(tmp_path), ("virtio_pci", "9pnet_virtio", "9p"))]
    assert order == ["virtio.ko", "virtio_pci.ko", "9pnet.ko", "9pnet_virtio.ko", "netfs.ko", "9p.ko"]


def test_an_unknown_module_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(vm.VMUnavailable, match="no module ipvlan"):
        vm.module_order(fake_kernel(tmp_path), ("ipvlan",))


def test_the_initramfs_is_a_newc_archive_cpio_can_list(tmp_path: Path) -> None:
    image = tmp_path / "initramfs.gz"
    vm.build_initramfs(fake_kernel(tmp_path), image)
    listing = subprocess.run(
        [str(vm.BUSYBOX), "cpio", "-t"], input=gzip.decompress(image.read_bytes()), capture_output=True, check=True
    ).stdout.decode()
    names = listing.split()
    assert {"init", "bin/busybox", "modules/order", "modules/9p.ko", "modules/virtio.ko"} <= set(names)


def test_when_the_vm_cannot_run_its_tests_fail_saying_why(tmp_path: Path) -> None:
    batch = Batch(rootdir=tmp_path, nodeids=["t.py::x"], error="qemu-system-x86_64 is not installed")
    with pytest.raises(GuestFailure, match="could not run: qemu-system-x86_64 is not installed"):
        batch.outcome("t.py::x")


def test_a_test_missing_from_the_guest_results_fails(tmp_path: Path) -> None:
    batch = Batch(rootdir=tmp_path, nodeids=["t.py::x"], results={}, console="kernel panic")
    with pytest.raises(GuestFailure, match="did not run in the VM(.|\n)*kernel panic"):
        batch.outcome("t.py::x")


def test_a_checkout_under_tmp_or_run_is_shared_again_inside_the_guest(tmp_path: Path) -> None:
    # the guest mounts tmpfs on /tmp and /run; a repository there (a CI clone) would vanish
    repo = Path("/tmp/ci-clone")
    assert vm.hidden_by_tmpfs([repo, repo / ".venv", Path("/work/repo"), Path("/run/x")]) == [Path("/run/x"), repo]
    assert vm.hidden_by_tmpfs([Path("/work/repo")]) == []
    lines = vm._keep_lines([("seaway-keep0", repo)])
    assert "mount -t 9p" in lines and "seaway-keep0 /newroot/tmp/ci-clone" in lines and "ro," in lines
