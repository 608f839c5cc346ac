"""The `rrm` command."""
