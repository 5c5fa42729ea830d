"""funchost's errors.

FunchostError
├── ConfigError          bad host.json / local.settings.json / app settings
├── FunctionLoadError    the app cannot be imported or indexed
└── StorageError         the storage account (Azurite) is missing or unreachable
"""

from __future__ import annotations


class FunchostError(Exception):
    """Base class of every error funchost raises on purpose."""


class ConfigError(FunchostError, ValueError):
    """A configuration file or app setting is missing or malformed."""


class FunctionLoadError(FunchostError, ImportError):
    """The function app could not be imported or indexed."""


class StorageError(FunchostError, ConnectionError):
    """The storage account named by a connection setting is unusable."""
