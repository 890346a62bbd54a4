"""BGP from the host: seawayd runs FRR (``zebra`` + ``bgpd``) in its own namespace,
announces the subnets of routed bridge networks (and, opt-in, containers' host routes)
and lets zebra install what its peers announce. ``frrconf`` and ``announce`` are pure
(what to say to FRR, what to announce); ``speaker`` runs and supervises the processes."""
