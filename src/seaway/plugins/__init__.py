"""Docker's plugin protocol (legacy "v1" plugins): finding a plugin by name, the
``Plugin.Activate`` handshake, and calls over HTTP. The remote network driver
(``seaway.drivers.remote``) and the remote IPAM driver (``seaway.plugins.ipam``) speak
through it. No kernel state; the only I/O is files in the plugin directories and the
plugin's socket.
"""
