"""The DataFactory backend: a DataFactoryCompute target runs DataTransferStep copies (see :mod:`.backend`)."""

from __future__ import annotations

from durableml.compute.datafactory.backend import DataFactoryBackend

__all__ = ["DataFactoryBackend"]
