"""What machine a result came from."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version


def describe() -> dict[str, object]:
    nft = subprocess.run(["nft", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "pyroute2": version("pyroute2"),
        "seaway": version("seaway"),
        "nft": nft,
    }
