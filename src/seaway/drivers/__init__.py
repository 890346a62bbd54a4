"""Network drivers (layer 3): bridge, host and null, behind one small protocol."""
