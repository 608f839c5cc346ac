"""The product's entry points: the `rrm` command, the wire contract (rrm.v1), PKI and clocks."""

__version__ = "0.1.0"
