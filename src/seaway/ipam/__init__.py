"""Address management: pools, subnets and addresses. Pure (layer 1): no I/O, no logging."""
