"""The single-host engine: records in, kernel out.

``Engine`` (``seaway.engine.engine``) is the facade; behind it, one concept per module:

* ``snapshot``: the records in memory, immutable; what every read sees;
* ``networks``, ``endpoints``: planners (Docker's rules, subnets, addresses), pure of the kernel;
* ``rules``: which networks a container may be on, decided once;
* ``realizer``: the one idempotent path from records to kernel state;
* ``ports``: published ports; ``firewall``: Seaway's whole ruleset from the records;
* ``reconcile``: start-up and repair; ``health``: the cheap checks and the doctor's expectations;
* ``defaults``: the predefined networks; ``config``: ``EngineConfig``.
"""

from seaway.engine.config import EngineConfig
from seaway.engine.engine import Engine

__all__ = ["Engine", "EngineConfig"]
