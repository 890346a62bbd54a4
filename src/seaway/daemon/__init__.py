"""seawayd: the Docker Engine API, containers, the embedded DNS feed, the doctor and the firewall guard, above the engine (``seaway.engine``)."""
