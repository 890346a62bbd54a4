"""docker-compose 1.29 projects for tests and the compat suite: what compose users write
(a sidecar sharing a network namespace, links, a static address, a scaled service on an
internal network)."""

from __future__ import annotations

SIDECAR_AND_LINKS = """
version: "2.4"
services:
  web:
    image: busybox
    command: httpd -f -p 80 -h /etc
  side:
    image: busybox
    command: sleep 600
    network_mode: "service:web"
  client:
    image: busybox
    command: sleep 600
    links: ["web:frontend"]
"""

STATIC_ADDRESSES = """
version: "2.4"
services:
  db:
    image: busybox
    command: sleep 600
    networks:
      back:
        ipv4_address: 10.88.0.10
networks:
  back:
    ipam:
      config:
        - subnet: 10.88.0.0/24
"""

SCALED_INTERNAL = """
version: "2.4"
services:
  worker:
    image: busybox
    command: sleep 600
    scale: 3
    networks: [inside]
networks:
  inside:
    internal: true
"""

PROJECTS = {"sidecar": SIDECAR_AND_LINKS, "static": STATIC_ADDRESSES, "scaled": SCALED_INTERNAL}
