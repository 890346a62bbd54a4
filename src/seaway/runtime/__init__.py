"""Running containers (layer 2): images, root filesystems, OCI bundles, runc + conmon."""
