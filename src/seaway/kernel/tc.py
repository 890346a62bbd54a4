"""Traffic control on a namespace's link: rate limits (tbf) and impairments (netem).

netem is a kernel option (``sch_netem``, CONFIG_NET_SCH_NETEM) some kernels lack; it is
detected when it is used, from the kernel's answer, and reported as Unsupported naming
the option. Every change replaces the link's root qdisc, so ``clear`` undoes all of it.
"""

from __future__ import annotations

from seaway.errors import InternalError, Unsupported
from seaway.kernel import process

NETEM = "sch_netem (CONFIG_NET_SCH_NETEM), which delay, jitter and loss need"
TBF = "sch_tbf (CONFIG_NET_SCH_TBF)"


def _replace(netns: str, ifname: str, args: list[str], feature: str) -> None:
    proc = process.run(netns, ["tc", "qdisc", "replace", "dev", ifname, "root", *args], check=False)
    if proc.returncode == 0:
        return
    if "qdisc kind is unknown" in proc.stderr:
        raise Unsupported(f"{args[0]} on {ifname}: this kernel lacks {feature}")
    raise InternalError(f"tc qdisc replace dev {ifname} {' '.join(args)} in {netns}: {proc.stderr.strip()}")


def limit_rate(netns: str, ifname: str, rate_bit: int, burst_bytes: int, latency_ms: int = 50) -> None:
    """Shape what leaves ``ifname`` to ``rate_bit`` bits per second (token bucket)."""
    args = ["tbf", "rate", f"{rate_bit}bit", "burst", str(burst_bytes), "latency", f"{latency_ms}ms"]
    _replace(netns, ifname, args, TBF)


def impair(netns: str, ifname: str, delay_ms: float, jitter_ms: float, loss_percent: float) -> None:
    """Delay, jitter and loss on what leaves ``ifname`` (netem)."""
    args = ["netem", "delay", f"{delay_ms}ms"]
    if jitter_ms:
        args.append(f"{jitter_ms}ms")
    if loss_percent:
        args += ["loss", f"{loss_percent}%"]
    _replace(netns, ifname, args, NETEM)


def clear(netns: str, ifname: str) -> None:
    """Back to the default qdisc (nothing to clear counts as cleared)."""
    proc = process.run(netns, ["tc", "qdisc", "del", "dev", ifname, "root"], check=False)
    if (
        proc.returncode != 0
        and "Cannot delete qdisc with handle of zero" not in proc.stderr
        and "No such file" not in proc.stderr
    ):
        raise InternalError(f"tc qdisc del dev {ifname} root in {netns}: {proc.stderr.strip()}")


def root_qdisc(netns: str, ifname: str) -> str:
    """The kind of ``ifname``'s root qdisc (``tbf``, ``netem``, ``noqueue`` …)."""
    out = process.run(netns, ["tc", "qdisc", "show", "dev", ifname, "root"]).stdout.split()
    return out[1] if len(out) > 1 else ""
