"""Ad-hoc profiles of the hot paths (see bench/README.md, where the time goes)."""
