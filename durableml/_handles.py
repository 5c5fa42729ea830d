"""The workspace, a datastore and an experiment as the objects that hold them see them.

A workspace lists its datastores, compute targets, experiments and datasets, and each of those holds
its workspace; a datastore makes the data references that hold it; an experiment lists the runs that
hold it. The holders import their holder's class, and the held objects name their holder through one
of these protocols, which say what they use of it, so that no module imports its own importer
(see "Import structure" in docs/design/pipeline-runtime.md). ``Workspace``, ``Datastore`` and
``Experiment`` satisfy them; at run time the handle is always that object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from durableml.client import ServiceClient

__all__ = ["WorkspaceHandle", "DatastoreHandle", "ExperimentHandle"]


class WorkspaceHandle(Protocol):
    """A workspace (:class:`~durableml.core.workspace.Workspace`): its identity and its service client."""

    _client: ServiceClient

    @property
    def name(self) -> str: ...

    @property
    def subscription_id(self) -> str: ...

    @property
    def resource_group(self) -> str: ...

    def set_default_datastore(self, name: str) -> None: ...


class DatastoreHandle(Protocol):
    """A datastore (:class:`~durableml.core.datastore.Datastore`): its name and its workspace."""

    @property
    def name(self) -> str: ...

    @property
    def workspace(self) -> WorkspaceHandle: ...


class ExperimentHandle(Protocol):
    """An experiment (:class:`~durableml.core.experiment.Experiment`): its name and its workspace."""

    @property
    def name(self) -> str: ...

    @property
    def workspace(self) -> WorkspaceHandle: ...
