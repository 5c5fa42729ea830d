"""A disabled function: never imported (importing it would fail)."""

raise RuntimeError("a disabled function must not be loaded")
