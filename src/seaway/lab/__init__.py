"""Labs: hosts made of network namespaces on one machine (the full lab tool is issue 7).

For now this holds ``fakehost``: one fake host wired to an outside world, which the
demo, the benchmarks and the test bed build on.
"""
