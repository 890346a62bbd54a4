"""nftables: the desired ruleset as data (pure), golden-tested."""
