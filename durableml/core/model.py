"""Model: files registered under a name and version; ``Model.get_model_path`` inside steps.

``get_model_path(name, version)`` looks, in order, under ``AZUREML_MODEL_DIR`` (set by a deployment),
under ``./azureml-models/<name>/<version>``, and finally downloads the model there from the service of
``_workspace`` or, inside a step, of the step's run (``Run.get_context().experiment.workspace``), as v1
does. The path is the registered item itself: a file for a single-file model, a directory for a folder.
Service records (``durableml/service/models.py``) carry ``id`` (``name:version``), ``name``, ``version``,
``tags``, ``properties``, ``description``, ``createdTime``, ``runId`` and ``item`` (the registered file or
folder name).
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durableml._http_errors import v1_lookup_error
from durableml.core._context import step_run
from durableml.core.dataset import Dataset
from durableml.exceptions import ModelNotFoundException, NotSupportedError, ValidationError

if TYPE_CHECKING:
    from durableml._handles import WorkspaceHandle

__all__ = ["Model", "Dataset"]


class Model:
    """A registered model (v1 ``Model(workspace, name=..., version=...)``)."""

    def __init__(
        self,
        workspace: WorkspaceHandle,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not name and not id:
            raise ValidationError("Model(workspace, ...) needs name= or id= (for example Model(ws, name='model')).")
        try:
            record = workspace._client.get_model(None if id else name, version, id)
        except ModelNotFoundException as exc:  # v1 raised WebserviceException('ModelNotFound: ...'); this is one
            wanted = f"ID {id}" if id else f"name {name}"
            wanted += f", version {version}" if version else ""
            raise v1_lookup_error(exc, f"ModelNotFound: Model with {wanted} not found in provided workspace") from exc
        self._load(workspace, record)

    def _load(self, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> None:
        self.workspace = workspace
        self._record = dict(record)

    @classmethod
    def _from_record(cls, workspace: WorkspaceHandle, record: Mapping[str, Any]) -> Model:
        model = cls.__new__(cls)
        model._load(workspace, record)
        return model

    @property
    def name(self) -> str:
        """The model name."""
        return str(self._record["name"])

    @property
    def id(self) -> str:
        """The model id (``name:version`` unless the service says otherwise)."""
        return str(self._record.get("id") or f"{self.name}:{self.version}")

    @property
    def version(self) -> int:
        """The model version."""
        return int(self._record.get("version", 1))

    @property
    def tags(self) -> dict[str, str]:
        """The model tags."""
        return dict(self._record.get("tags") or {})

    @property
    def properties(self) -> dict[str, Any]:
        """The model properties."""
        return dict(self._record.get("properties") or {})

    @property
    def description(self) -> str | None:
        """The model description."""
        return self._record.get("description")

    @property
    def created_time(self) -> datetime | None:
        """When this version was registered (a timezone-aware datetime, as v1)."""
        created = self._record.get("createdTime")
        return datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None

    @property
    def run_id(self) -> str | None:
        """The run whose files were registered (``Run.register_model``), else None."""
        return self._record.get("runId")

    @staticmethod
    def register(
        workspace: WorkspaceHandle,
        model_path: str,
        model_name: str,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, Any] | None = None,
        description: str | None = None,
        datasets: Any = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        **kwargs: Any,
    ) -> Model:
        """Upload the file or folder ``model_path`` and register it as a new version of ``model_name``."""
        if not os.path.exists(model_path):
            raise ValidationError(
                f"Model.register: model_path {model_path!r} does not exist (working directory {os.getcwd()!r}); "
                "pass the path of the model file or folder to register. Nothing was registered."
            )
        files = _model_files(model_path)
        if not files:
            raise ValidationError(
                f"Model.register: the folder {model_path!r} holds no files; write the model into it first. "
                "Nothing was registered."
            )
        spec = {
            "name": model_name,
            "tags": dict(tags or {}),
            "properties": dict(properties or {}),
            "description": description,
            "framework": model_framework,
            "frameworkVersion": model_framework_version,
            "datasets": [[label, getattr(ds, "id", str(ds))] for label, ds in datasets or []],
        }
        return Model._from_record(workspace, workspace._client.register_model(spec, files))

    @staticmethod
    def list(
        workspace: WorkspaceHandle,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        **kwargs: Any,
    ) -> builtins.list[Model]:
        """Return registered model versions, newest first: only ``name``, those with ``tags`` (v1's
        ``["key", ["key", "value"]]``), or with ``latest`` only the newest version of each name."""
        if properties or run_id:
            raise NotSupportedError("Model.list(properties=..., run_id=...)", "Filter by name= or tags= instead.")
        found = [Model._from_record(workspace, r) for r in workspace._client.list_models(name, tags)]
        if latest:
            newest: dict[str, Model] = {}
            for model in found:
                if model.name not in newest or model.version > newest[model.name].version:
                    newest[model.name] = model
            found = [m for m in found if newest[m.name] is m]
        return found

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: WorkspaceHandle | None = None) -> str:
        """Return the local path of a model's files (see the module docstring for the search order)."""
        roots = [os.environ.get("AZUREML_MODEL_DIR"), os.path.join(os.getcwd(), "azureml-models")]
        for root in filter(None, roots):
            found = _find_local(root, model_name, version)
            if found:
                return found
        workspace = _workspace or _step_workspace()
        if workspace is None:
            raise ModelNotFoundException(
                f"Model {model_name!r} (version {version or 'latest'}) was not found under AZUREML_MODEL_DIR or "
                "./azureml-models. Inside a step it is downloaded from the workspace; elsewhere pass "
                "_workspace=ws to download it."
            )
        model = Model(workspace, name=model_name, version=version)
        return model.download(os.path.join(os.getcwd(), "azureml-models", model_name, str(model.version)), True)

    def download(self, target_dir: str = ".", exist_ok: bool = False, exists_ok: bool | None = None) -> str:
        """Download the model's files into ``target_dir``; return the path of the registered file or folder.

        An existing file or folder of that name is an error unless ``exist_ok`` (v1).
        """
        item = os.path.join(target_dir, str(self._record.get("item") or self.name))
        if os.path.exists(item) and not (exist_ok or exists_ok):
            raise ValidationError(
                f"Model.download: {item!r} exists already; pass exist_ok=True to replace it or choose another "
                "target_dir."
            )
        os.makedirs(target_dir, exist_ok=True)
        return str(self.workspace._client.download_model(self.id, target_dir))

    def __repr__(self) -> str:
        return f"Model(workspace={self.workspace.name!r}, name={self.name!r}, id={self.id!r}, version={self.version})"


def _step_workspace() -> WorkspaceHandle | None:
    """The workspace of the step this process runs, or None outside steps."""
    run = step_run()
    return None if run is None else run.experiment.workspace


def _model_files(model_path: str) -> builtins.list[tuple[str, str]]:
    base = os.path.basename(os.path.normpath(model_path))
    if os.path.isfile(model_path):
        return [(model_path, base)]
    return [
        (
            os.path.join(root, name),
            os.path.join(base, os.path.relpath(os.path.join(root, name), model_path)).replace(os.sep, "/"),
        )
        for root, _dirs, names in sorted(os.walk(model_path))
        for name in sorted(names)
    ]


def _find_local(root: str, name: str, version: int | None) -> str | None:
    folder = os.path.join(root, name)
    if os.path.isfile(folder):
        return folder if version is None else None
    if not os.path.isdir(folder):
        return None
    versions = sorted((v for v in os.listdir(folder) if v.isdigit()), key=int)
    chosen = str(version) if version is not None else (versions[-1] if versions else None)
    target = os.path.join(folder, chosen) if chosen else folder
    if not os.path.isdir(target):
        return None
    entries = os.listdir(target)
    return os.path.join(target, entries[0]) if len(entries) == 1 else target
