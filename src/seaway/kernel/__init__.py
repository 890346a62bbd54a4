"""The only package that changes kernel state (layer 2).

Everything below here talks to the kernel: network namespaces, links, addresses, routes,
sysctls and nftables. Failures are translated once, by ``kernel.errors.translating``, into
``seaway.errors.KernelError``; nothing above this package sees pyroute2 or OSError.
"""
