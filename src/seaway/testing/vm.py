"""A throwaway QEMU VM running Debian's stock kernel, for kernel features this machine lacks.

The guest boots ``linux-image-amd64`` (downloaded once with ``apt-get download`` and
cached, vmlinuz plus its modules, under ``.cache/vm/`` of the repository or
``$SEAWAY_VM_CACHE``) under ``qemu-system-x86_64 -accel tcg`` (nested KVM does not work
on the CI machine). Its initramfs is built here: a static busybox, the handful of
modules that reach the host over 9p (their order from ``modules.dep``), and an ``/init``
that mounts

* the host's root filesystem, read-only over virtio-9p, at ``/newroot``;
* tmpfs on ``/newroot/tmp`` and ``/newroot/run``, and ``proc``/``sys``/``dev``;
* an output directory of the host's, writable, at ``/newroot/tmp/out``;

then runs ``/tmp/out/run.sh`` chrooted into ``/newroot`` (so the host's own Python and
virtual environment run in the guest, with the guest's kernel), records its exit status in
``/tmp/out/rc`` and powers off. PID 1 stays in the initramfs, so the kernel's module
autoloader finds ``/sbin/modprobe`` there: a wrapper that runs the host's modprobe on the
cached modules (``modprobe -d``).

Nothing here touches the machine's network: the guest has no network device.
"""

from __future__ import annotations

import gzip
import io
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

KERNEL_PACKAGE = "linux-image-amd64"
QEMU = "qemu-system-x86_64"
BUSYBOX = Path("/bin/busybox")
#: the modules the initramfs loads itself (dependencies first, from modules.dep)
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
ROOT_TAG = "seawayroot"
OUT_TAG = "seawayout"
MEMORY_MB = 2048


class VMUnavailable(Exception):
    """The VM could not be prepared or booted (not: the command inside it failed)."""


@dataclass(frozen=True)
class GuestKernel:
    root: Path  # holds boot/vmlinuz-<version> and lib/modules/<version>
    version: str

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.version}"

    @property
    def modules(self) -> Path:
        return self.root / "lib" / "modules" / self.version


def default_cache() -> Path:
    if os.environ.get("SEAWAY_VM_CACHE"):
        return Path(os.environ["SEAWAY_VM_CACHE"])
    return Path(__file__).resolve().parents[3] / ".cache" / "vm"


def _run(cmd: list[str], *, cwd: Path | None = None, timeout: float = 600) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VMUnavailable(f"{shlex.join(cmd)}: {exc}") from exc
    if done.returncode != 0:
        raise VMUnavailable(f"{shlex.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def _kernel_package() -> str:
    """The versioned package ``linux-image-amd64`` depends on (e.g. linux-image-6.1.0-56-amd64)."""
    for line in _run(["apt-cache", "depends", KERNEL_PACKAGE]).splitlines():
        line = line.strip()
        if line.startswith("Depends:") and "linux-image-" in line:
            return line.split(":", 1)[1].strip()
    raise VMUnavailable(f"apt-cache knows no kernel behind {KERNEL_PACKAGE} (run apt-get update)")


def ensure_kernel(cache: Path | None = None) -> GuestKernel:
    """The cached guest kernel, fetched and unpacked on first use."""
    cache = cache or default_cache()
    ready = sorted(cache.glob("linux-image-*/.ready"))
    if ready and not os.environ.get("SEAWAY_VM_REFRESH"):
        root = ready[-1].parent
        return GuestKernel(root, ready[-1].read_text().strip())
    package = _kernel_package()
    version = package.removeprefix("linux-image-")
    root = cache / package
    if (root / ".ready").exists():
        return GuestKernel(root, version)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="download-") as tmp:
        _run(["apt-get", "download", package], cwd=Path(tmp))
        debs = list(Path(tmp).glob("*.deb"))
        if len(debs) != 1:
            raise VMUnavailable(f"apt-get download {package} gave {len(debs)} files")
        unpacked = Path(tmp) / "x"
        _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
        _run(["depmod", "-b", str(unpacked), version])
        if root.exists():
            shutil.rmtree(root)
        root.mkdir()
        (root / "boot").mkdir()
        shutil.move(unpacked / "boot" / f"vmlinuz-{version}", root / "boot")
        shutil.move(unpacked / "lib", root / "lib")
    (root / ".ready").write_text(version + "\n")
    return GuestKernel(root, version)


def module_order(kernel: GuestKernel, names: tuple[str, ...]) -> list[Path]:
    """The module files to insert for ``names``, each after its dependencies."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (kernel.modules / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
        by_name[Path(path).name.split(".ko")[0].replace("-", "_")] = path
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in deps.get(path, ()):
            visit(dep)
        order.append(path)

    for name in names:
        if name not in by_name:
            raise VMUnavailable(f"kernel {kernel.version} has no module {name}")
        visit(by_name[name])
    return [kernel.modules / p for p in order]


# ------------------------------------------------------------------ initramfs

INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "seaway-vm: $*"; }
fail() { say "$*"; poweroff -f; }
for m in $(cat /modules/order); do insmod /modules/$m || say "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 @ROOT@ /newroot || fail "cannot mount the host root"
mount -t tmpfs -o mode=1777 tmp /newroot/tmp
mount -t tmpfs -o mode=755 run /newroot/run
mkdir /newroot/tmp/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 @OUT@ /newroot/tmp/out || fail "cannot mount the output directory"
@KEEP@
. /newroot/tmp/out/guest.env
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
ln -s /proc/self/fd /newroot/dev/fd
ln -s /proc/self/fd/0 /newroot/dev/stdin
ln -s /proc/self/fd/1 /newroot/dev/stdout
ln -s /proc/self/fd/2 /newroot/dev/stderr
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs shm /newroot/dev/shm
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null
rm -f /sbin/modprobe
printf '#!/bin/busybox sh\nexec chroot /newroot /usr/sbin/modprobe -d "%s" "$@"\n' "$SEAWAY_MODULES_BASE" > /sbin/modprobe
chmod 755 /sbin/modprobe
echo /sbin/modprobe > /proc/sys/kernel/modprobe
for m in $SEAWAY_PRELOAD; do /sbin/modprobe "$m" || say "modprobe $m failed"; done
ip link set lo up
say "running"
chroot /newroot /bin/sh /tmp/out/run.sh
echo $? > /newroot/tmp/out/rc
sync
say "done"
poweroff -f
"""


def _cpio_entry(name: str, mode: int, data: bytes = b"") -> bytes:
    encoded = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(f"{v:08x}".encode() for v in fields)
    out = header + encoded
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def _keep_lines(keep: list[tuple[str, Path]]) -> str:
    """Host directories under /tmp or /run (hidden by the guest's tmpfs there), each
    shared again at its own path, read-only: a checkout under /tmp must still work."""
    return "\n".join(
        f"mkdir -p /newroot{path} && mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 "
        f"{tag} /newroot{path} || fail 'cannot mount {path}'"
        for tag, path in keep
    )


def hidden_by_tmpfs(paths: list[Path]) -> list[Path]:
    """Of ``paths``, those the guest's tmpfs on /tmp and /run would hide (outermost only)."""
    out: list[Path] = []
    for path in sorted({p.resolve() for p in paths}):
        if path.parts[1:2] in (("tmp",), ("run",)) and not any(path.is_relative_to(o) for o in out):
            out.append(path)
    return out


def build_initramfs(kernel: GuestKernel, path: Path, keep: list[tuple[str, Path]] | None = None) -> None:
    """A gzip'd newc cpio archive: busybox, /init and the boot modules."""
    modules = module_order(kernel, BOOT_MODULES)
    buf = io.BytesIO()
    for directory in ("bin", "modules", "proc", "sys", "dev", "newroot", "sbin"):
        buf.write(_cpio_entry(directory, 0o40755))
    buf.write(_cpio_entry("bin/busybox", 0o100755, BUSYBOX.read_bytes()))
    init = INIT.replace("@ROOT@", ROOT_TAG).replace("@OUT@", OUT_TAG).replace("@KEEP@", _keep_lines(keep or []))
    buf.write(_cpio_entry("init", 0o100755, init.encode()))
    buf.write(_cpio_entry("modules/order", 0o100644, "\n".join(m.name for m in modules).encode() + b"\n"))
    for module in modules:
        buf.write(_cpio_entry(f"modules/{module.name}", 0o100644, module.read_bytes()))
    buf.write(_cpio_entry("TRAILER!!!", 0))
    path.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1))


# ------------------------------------------------------------------ running


@dataclass(frozen=True)
class VMResult:
    returncode: int
    console: str  # the guest's serial console: kernel messages and the command's output
    seconds: float


def run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    out_dir: Path,
    preload: tuple[str, ...] = (),
    timeout: float = 1500,
    kernel: GuestKernel | None = None,
) -> VMResult:
    """Boot a VM, run ``command`` in ``cwd`` inside it (host filesystem read-only, /tmp
    and /run empty), power off. ``out_dir`` is the guest's writable ``/tmp/out``."""
    if shutil.which(QEMU) is None:
        raise VMUnavailable(f"{QEMU} is not installed (Debian package qemu-system-x86)")
    if not BUSYBOX.exists():
        raise VMUnavailable(f"{BUSYBOX} is missing (Debian package busybox-static)")
    kernel = kernel or ensure_kernel()
    out_dir.mkdir(parents=True, exist_ok=True)
    initramfs = out_dir / "initramfs.gz"
    keep = [(f"seaway-keep{i}", p) for i, p in enumerate(hidden_by_tmpfs([cwd, Path(sys.prefix)]))]
    build_initramfs(kernel, initramfs, keep)
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    (out_dir / "run.sh").write_text(f"{exports}cd {shlex.quote(str(cwd))} || exit 99\nexec {shlex.join(command)}\n")
    (out_dir / "guest.env").write_text(
        f"SEAWAY_MODULES_BASE={shlex.quote(str(kernel.root))}\nSEAWAY_PRELOAD={shlex.quote(' '.join(preload))}\n"
    )
    (out_dir / "rc").unlink(missing_ok=True)
    cmd = [
        QEMU,
        "-accel", "tcg,thread=multi",
        "-cpu", "max",
        "-smp", str(min(2, os.cpu_count() or 1)),
        "-m", str(MEMORY_MB),
        "-nographic",
        "-no-reboot",
        "-nic", "none",
        "-kernel", str(kernel.vmlinuz),
        "-initrd", str(initramfs),
        "-append", "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init",
        "-virtfs", f"local,path=/,mount_tag={ROOT_TAG},security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={out_dir},mount_tag={OUT_TAG},security_model=none",
    ]  # fmt: skip
    for tag, path in keep:
        cmd += ["-virtfs", f"local,path={path},mount_tag={tag},security_model=none,readonly=on,multidevs=remap"]
    console_path = out_dir / "console.log"
    started = time.monotonic()
    with open(console_path, "wb") as console:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise VMUnavailable(
                f"the VM did not finish within {timeout:.0f} s; console:\n{_tail(console_path)}"
            ) from None
    seconds = time.monotonic() - started
    rc_file = out_dir / "rc"
    if not rc_file.exists():
        raise VMUnavailable(
            f"the VM stopped before the command ended (qemu exit {proc.returncode}); console:\n{_tail(console_path)}"
        )
    return VMResult(int(rc_file.read_text().strip() or "255"), console_path.read_text(errors="replace"), seconds)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
