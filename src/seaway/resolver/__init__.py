"""The embedded DNS server (layer 3): listeners in containers, forwarding, statistics."""
