"""Names: the files Seaway writes into containers (and, with issue 4, the embedded DNS)."""
