"""Seaway: Docker's container networking model on the Linux kernel.

Importing ``seaway`` has no side effects; the packages below it say what they own.
"""

__version__ = "0.1.0"
