"""Labs: many hosts on one machine, each a network namespace with its own seawayd.

A lab is described as data (``topology``: YAML, see docs/lab.md), expanded into names,
addresses and routes by a pure step (``plan``), built and torn down by ``realize``, and
driven from Python with ``Lab`` (``api``) or from the CLI with ``seaway lab``. ``faults``
injects failures; ``graph`` and ``status`` draw it. ``fakehost`` is the single fake
host the test bed and benchmarks use.
"""

from seaway.lab.api import Lab, LabHost
from seaway.lab.topology import Topology, TopologyError, load, parse

__all__ = ["Lab", "LabHost", "Topology", "TopologyError", "load", "parse"]
