"""Linked services (Synapse workspaces): not supported by durableml yet."""

from __future__ import annotations

from durableml._unsupported import unsupported_class

__all__ = ["LinkedService", "SynapseWorkspaceLinkedServiceConfiguration"]

LinkedService = unsupported_class("LinkedService", "durableml.core")
SynapseWorkspaceLinkedServiceConfiguration = unsupported_class(
    "SynapseWorkspaceLinkedServiceConfiguration", "durableml.core"
)
