"""Seaway's test bed, shipped so users can test on sandboxed hosts too.

``FakeHost`` builds a fake host namespace wired to an outside-world namespace on
documentation addresses; ``seaway.testing.plugin`` is the pytest plugin with the
fixtures and the end-of-session leak check. Nothing in production imports this package.
"""
