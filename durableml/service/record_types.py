"""The records of the durableml HTTP API, each defined once, as a TypedDict in the API's one key convention:
camelCase, as Azure ML v1's REST API spells them (``startTimeUtc``, ``maxNodeCount``, ``pipelineEndpointId``...).

These types are the API's shapes, not the storage's: records stay stored as they always were (runs, step runs
and computes with snake_case keys, schedules and endpoints with camelCase ones), so nothing stored needs
migrating. The HTTP layer turns a stored record into its API form with :func:`to_api`, driven by these
definitions alone: each field of the TypedDict is read from the key its ``Annotated[..., StoredAs("...")]``
names when it has one (``startTimeUtc`` <- ``started``, ``parentRunId`` <- ``parent_id``), else from the stored
key of the same name, else from its snake_case form (``continueOnStepFailure`` <- ``continue_on_step_failure``);
nested TypedDicts, lists and maps of them are converted the same way, and keys a type does not declare (storage
bookkeeping such as ``document_blob``, secrets given at creation) are left out. :func:`from_api` is the reverse
for request bodies: API names (and the snake_case names older clients sent) become stored keys.
``durableml.service.openapi`` generates the document's schemas from these types, so what is documented and what
is answered come from one definition (tests/e2e/test_api_records.py checks that each route answers in its
documented type).

Fields are required (``total``) where every record has them, ``NotRequired`` where some records do not;
``Optional`` means present but possibly null. Standard library only (and ``durableml.contract``'s run statuses).

This module deliberately has no ``from __future__ import annotations``: Python 3.11 computes a TypedDict's
``__required_keys__`` from its annotations at class creation and reads ``NotRequired`` only when they are
real objects, not strings.
"""

import functools
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Optional,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from durableml.contract import Status as RunStatus  # the statuses, defined once (v1's names)

__all__ = [
    "StoredAs",
    "SchemaRef",
    "Field",
    "fields",
    "unwrap",
    "to_api",
    "from_api",
    "snake_case",
    "RunStatus",
    "Workspace",
    "Experiment",
    "Datastore",
    "DatastoreSpec",
    "DatastoreUpload",
    "Dataset",
    "DatasetFile",
    "Compute",
    "ComputeSpec",
    "DataLocation",
    "OutputLocation",
    "ReuseIdentity",
    "ResumedStep",
    "PipelineRun",
    "StepRun",
    "Run",
    "ReuseChange",
    "ReuseExplanation",
    "ChangedBlob",
    "FiringCause",
    "ScheduleRun",
    "Recurrence",
    "PoisonedFiring",
    "Schedule",
    "PublishedPipeline",
    "EndpointVersion",
    "PipelineEndpoint",
    "PipelineDraft",
    "DeletedDraft",
    "V1RunLinks",
    "V1RunAccepted",
    "Model",
    "StoredFile",
    "SnapshotCheck",
    "SnapshotMissing",
    "SnapshotCreated",
]


@dataclass(frozen=True)
class StoredAs:
    """``Annotated`` marker: the field's stored key when it is neither the API key nor its snake_case form."""

    key: str


@dataclass(frozen=True)
class SchemaRef:
    """``Annotated`` marker: the field's schema is the OpenAPI component ``name`` (a schema not written as a
    TypedDict, such as the pipeline document's parameter declarations)."""

    name: str


# ---------------------------------------------------------------------------------------------- workspace
class Workspace(TypedDict):
    """The workspace this service is (names from app settings) and its default datastore."""

    name: str
    subscriptionId: str
    resourceGroup: str
    location: str
    defaultDatastore: str


class Experiment(TypedDict):
    """An experiment: created with its first run."""

    name: str
    createdUtc: Annotated[str, StoredAs("created")]


# ---------------------------------------------------------------------------------------------- data
class Datastore(TypedDict):
    """A datastore: a blob container (or ADLS Gen2 file system) of the service's storage account. Secrets given
    when it was registered (account keys, SAS tokens, client secrets, passwords) are never shown."""

    name: str
    type: str
    containerName: str
    accountName: str
    protocol: str
    endpoint: str
    filesystem: NotRequired[str]
    fileShareName: NotRequired[str]
    storeName: NotRequired[str]
    tenantId: NotRequired[str]
    clientId: NotRequired[str]
    resourceUrl: NotRequired[str]
    authorityUrl: NotRequired[str]
    subscriptionId: NotRequired[str]
    resourceGroup: NotRequired[str]
    credentialType: NotRequired[str]
    serviceDataAccessAuthIdentity: NotRequired[str]
    serverName: NotRequired[str]
    databaseName: NotRequired[str]
    portNumber: NotRequired[Union[str, int]]
    userId: NotRequired[str]
    username: NotRequired[str]
    enforceSsl: NotRequired[bool]
    createIfNotExists: NotRequired[bool]
    skipValidation: NotRequired[bool]


class DatastoreSpec(TypedDict, total=False):
    """``PUT /api/datastores/{name}``: a container of the service's account (for ADLS Gen2, ``filesystem``);
    the snake_case names older clients send (``container_name``...) are accepted too."""

    type: str
    containerName: str
    filesystem: str
    accountName: str
    protocol: str
    endpoint: str
    tenantId: str
    clientId: str
    createIfNotExists: bool
    skipValidation: bool


class DatastoreUpload(TypedDict):
    """One file written to a datastore (``skipped``: it existed and ``overwrite`` was false)."""

    datastore: str
    path: str
    size: Optional[int]
    skipped: bool


class Dataset(TypedDict):
    """A registered dataset version; ``definition`` is the SDK's dataset document."""

    id: str
    name: str
    version: int
    description: Optional[str]
    tags: dict[str, str]
    created: str
    definition: dict[str, Any]


class DatasetFile(TypedDict):
    """A file behind a dataset definition; ``relative`` is where a download puts it."""

    datastore: str
    path: str
    relative: str


# ---------------------------------------------------------------------------------------------- compute
class Compute(TypedDict):
    """A compute target. AmlCompute targets run steps on this service's workers, at most ``maxNodeCount`` at once;
    the other settings are recorded as given. Secrets given when a target was attached are never shown."""

    name: str
    type: str
    provisioningState: str
    maxNodeCount: Annotated[int, StoredAs("max_nodes")]
    minNodeCount: NotRequired[Annotated[int, StoredAs("min_nodes")]]
    vmSize: NotRequired[str]
    vmPriority: NotRequired[str]
    idleSecondsBeforeScaledown: NotRequired[int]
    description: NotRequired[Optional[str]]
    tags: NotRequired[Optional[dict[str, str]]]
    location: NotRequired[Optional[str]]
    resourceGroup: NotRequired[Optional[str]]
    workspaceName: NotRequired[Optional[str]]
    resourceId: NotRequired[Optional[str]]
    accountName: NotRequired[Optional[str]]
    factoryName: NotRequired[Optional[str]]
    address: NotRequired[Optional[str]]
    sshPort: NotRequired[int]
    username: NotRequired[str]


class ComputeSpec(TypedDict, total=False):
    """``PUT /api/computes/{name}``: v1's AmlCompute names; ``maxNodes``/``max_nodes``, ``vm_size``... (what
    older clients sent) are accepted too."""

    type: str
    vmSize: str
    vmPriority: Literal["dedicated", "lowpriority"]
    minNodeCount: Annotated[int, StoredAs("min_nodes")]
    maxNodeCount: Annotated[int, StoredAs("max_nodes")]
    idleSecondsBeforeScaledown: int
    description: str
    tags: dict[str, str]
    location: str


# ---------------------------------------------------------------------------------------------- runs
class DataLocation(TypedDict):
    """Where data lives: a path on a datastore."""

    datastore: str
    path: str


class OutputLocation(TypedDict):
    """Where a step output is written (PipelineData: ``azureml/<step run id>/<output name>``)."""

    datastore: str
    path: str
    container: str
    isDirectory: bool


class ReuseIdentity(TypedDict):
    """A step run's reuse key: the sha256 of its ``components``; ``dataKey`` is what its outputs are a function
    of (the key, or for ``allow_reuse=False`` key + step run id, or for a reused step the original's)."""

    key: str
    dataKey: str
    policy: Literal["definition", "content"]
    components: dict[str, Any]


class ResumedStep(TypedDict):
    """A step that finished in the run a resumed run resumes: the step run whose outputs it takes."""

    id: str
    outputs: dict[str, OutputLocation]
    dataKey: str


class _RunFields(TypedDict):
    id: str
    experimentName: Annotated[str, StoredAs("experiment")]
    status: RunStatus
    createdUtc: Annotated[str, StoredAs("created")]
    startTimeUtc: Annotated[Optional[str], StoredAs("started")]
    endTimeUtc: Annotated[Optional[str], StoredAs("ended")]
    error: Optional[str]
    parentRunId: Annotated[Optional[str], StoredAs("parent_id")]
    properties: dict[str, str]


class PipelineRun(_RunFields):
    """A pipeline run. ``defaultDatastore``: where its data without a datastore goes (the workspace default
    when it was created); ``pipelineOutputs`` once it ended; ``resumedFrom``/``resumedSteps`` for a resumed run."""

    kind: Literal["pipeline"]
    parameters: dict[str, Any]
    tags: dict[str, str]
    continueOnStepFailure: bool
    regenerateOutputs: bool
    runSource: str
    stepProperties: dict[str, dict[str, str]]
    defaultDatastore: NotRequired[str]
    resumedFrom: NotRequired[str]
    resumedSteps: NotRequired[dict[str, ResumedStep]]
    pipelineOutputs: NotRequired[dict[str, DataLocation]]


class RunDataset(TypedDict):
    """A dataset a step run consumed or produced: the input or output ``name``, how (``Mount``, ``Download``,
    ``Upload``) and the dataset's definition (with its ``id``: registered, or saved for the run)."""

    name: str
    mechanism: str
    dataset: dict[str, Any]


class StepRun(_RunFields):
    """The run of one step of a pipeline run (``parentRunId``). ``target``: its compute target; ``reusedFrom``:
    the step run whose outputs it reused; ``reuse``: its reuse key, once decided; ``inputDatasets`` /
    ``outputDatasets``: the datasets it consumed (once started) and produced (once finished)."""

    kind: Literal["step"]
    name: str
    stepId: str
    target: Annotated[str, StoredAs("compute_target")]
    outputs: dict[str, OutputLocation]
    reusedFrom: Optional[str]
    submitted: NotRequired[bool]
    reuse: NotRequired[ReuseIdentity]
    inputDatasets: NotRequired[list[RunDataset]]
    outputDatasets: NotRequired[list[RunDataset]]


Run = Union[PipelineRun, StepRun]
"""A pipeline run or a step run (``kind`` tells which)."""


class ReuseChange(TypedDict):
    """One difference between a step run's reuse components and those of the run it is compared with."""

    what: Literal[
        "file", "snapshot", "parameter", "argument", "input", "setting", "output", "kind", "version", "policy"
    ]
    name: str
    old: Any
    new: Any


class ReuseExplanation(TypedDict):
    """Why a step run was (not) reused."""

    stepRunId: str
    name: str
    reused: bool
    reusedFrom: Optional[str]
    comparedWith: Optional[str]
    reasons: list[str]
    changes: list[ReuseChange]
    message: str


# ---------------------------------------------------------------------------------------------- schedules
class ChangedBlob(TypedDict):
    """A blob whose arrival (or change) started a data-change schedule's run."""

    name: str
    etag: str


class FiringCause(TypedDict):
    """What made a schedule start a run: its creation (v1: a recurrence without startTime runs at once), an
    occurrence (with the occurrences a downtime skipped), or changed blobs."""

    kind: Literal["created", "recurrence", "dataChange"]
    occurrence: NotRequired[str]
    skipped: NotRequired[list[str]]
    skippedCount: NotRequired[int]
    datastore: NotRequired[str]
    count: NotRequired[int]
    blobs: NotRequired[list[ChangedBlob]]


class ScheduleRun(PipelineRun):
    """A run a schedule started, with what triggered it."""

    trigger: FiringCause


class Recurrence(TypedDict):
    """v1's ScheduleRecurrence: ``startTime`` is wall-clock time in ``timeZone`` (Windows or IANA name)."""

    frequency: Literal["Minute", "Hour", "Day", "Week", "Month"]
    interval: int
    startTime: NotRequired[Optional[str]]
    timeZone: NotRequired[Optional[str]]
    hours: NotRequired[Optional[list[int]]]
    minutes: NotRequired[Optional[list[int]]]
    weekDays: NotRequired[Optional[list[str]]]
    timeOfDay: NotRequired[Optional[str]]


class PoisonedFiring(TypedDict):
    """A firing set aside after failing to start its run too often."""

    key: str
    cause: FiringCause
    error: str


class Schedule(TypedDict):
    """A schedule of a published pipeline (``pipelineId``) or endpoint (``pipelineEndpointId``): on a
    ``recurrence``, or on data changes under ``datastore``/``pathOnDatastore``. ``nextRunTime`` for active
    recurrences; ``pendingChanges``: changed blobs waiting for their run (debounce)."""

    id: str
    name: str
    description: Optional[str]
    status: Literal["Active", "Disabled"]
    experimentName: str
    pipelineId: Optional[str]
    pipelineEndpointId: Optional[str]
    parameterAssignments: dict[str, dict[str, Any]]
    continueOnStepFailure: Optional[bool]
    recurrence: Optional[Recurrence]
    datastore: Optional[str]
    pathOnDatastore: Optional[str]
    pollingInterval: float
    dataPathParameterName: Optional[str]
    debounceSeconds: float
    includeSubfolders: bool
    suffixes: list[str]
    notificationUrl: Optional[str]
    created: str
    updated: str
    lastError: Optional[str]
    lastOccurrence: str
    lastPoll: Optional[str]
    watermark: str
    pendingChanges: int
    nextRunTime: NotRequired[Optional[str]]
    lastRunId: NotRequired[str]
    lastRunTime: NotRequired[str]
    poisoned: NotRequired[list[PoisonedFiring]]


# ---------------------------------------------------------------------------------------------- published
class PublishedPipeline(TypedDict):
    """A published pipeline: a frozen document with a v1 REST ``endpoint`` on the host the request came to."""

    id: str
    name: Optional[str]
    description: Optional[str]
    version: Optional[str]
    continueOnStepFailure: bool
    status: Literal["Active", "Disabled"]
    created: str
    sourceRunId: Optional[str]
    parameters: dict[str, Annotated[dict[str, Any], SchemaRef("PipelineDocument.parameter")]]
    endpoint: str


class EndpointVersion(TypedDict):
    """One version of a pipeline endpoint: a published pipeline."""

    version: str
    pipelineId: str


class PipelineEndpoint(TypedDict):
    """A pipeline endpoint: one REST endpoint in front of numbered versions of published pipelines."""

    id: str
    name: str
    description: Optional[str]
    status: Literal["Active", "Disabled", "Archived"]
    created: str
    defaultVersion: str
    versions: list[EndpointVersion]
    notificationUrl: Optional[str]
    endpoint: str
    swaggerUrl: str


class PipelineDraft(TypedDict):
    """A saved, editable pipeline document with run settings."""

    id: str
    created: str
    name: Optional[str]
    description: Optional[str]
    experimentName: Optional[str]
    tags: dict[str, str]
    properties: dict[str, str]
    pipelineParameters: dict[str, Any]
    continueOnStepFailure: bool


class DeletedDraft(TypedDict):
    """The answer to deleting a draft."""

    id: str
    deleted: bool


V1RunLinks = TypedDict("V1RunLinks", {"self": str, "steps": str, "logs": str, "cancel": str})


class V1RunAccepted(TypedDict):
    """v1's answer to a REST run request (v1's PascalCase, unchanged so that v1 callers keep working), with
    links to the run on this host."""

    Id: str
    RunId: str
    Status: RunStatus
    ExperimentName: str
    RunSource: Optional[str]
    PipelineId: Optional[str]
    PipelineEndpointId: Optional[str]
    CreatedTime: str
    Links: V1RunLinks


# ---------------------------------------------------------------------------------------------- models, files
class Model(TypedDict):
    """A registered model version (``id`` = ``name:version``, as v1); ``files`` maps each path under the
    registered ``item`` to its sha256."""

    id: str
    name: str
    version: int
    tags: dict[str, str]
    properties: dict[str, str]
    description: Optional[str]
    createdTime: str
    framework: Optional[str]
    frameworkVersion: Optional[str]
    datasets: list[list[str]]
    runId: Optional[str]
    item: str
    files: dict[str, str]


class StoredFile(TypedDict):
    """A file stored by its content hash."""

    sha256: str
    size: int


class SnapshotCheck(TypedDict):
    """Given a whole manifest: the snapshot's ``id`` when it is stored already (``missing`` empty), else null
    and the content hashes to upload."""

    id: Optional[str]
    missing: list[str]


class SnapshotMissing(TypedDict):
    """Given content hashes: those not stored yet."""

    missing: list[str]


class SnapshotCreated(TypedDict):
    """A recorded snapshot manifest."""

    id: str


# ---------------------------------------------------------------------------------------------- conversion
@dataclass(frozen=True)
class Field:
    """One field of a record type: its API name, its type (qualifiers and markers removed), whether every
    record has it, the stored keys it is read from (first found wins) and its schema reference, if any."""

    name: str
    type: Any
    required: bool
    stored: tuple[str, ...]
    schema_ref: Optional[str] = None


def snake_case(name: str) -> str:
    """``parentRunId`` -> ``parent_run_id``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def unwrap(tp: Any) -> tuple[Any, bool, Optional[str], Optional[str]]:
    """``(type, required, stored key, schema ref)`` of an annotation: NotRequired/Required and Annotated removed."""
    required, stored, ref = True, None, None
    while True:
        origin = get_origin(tp)
        if origin is NotRequired:
            required, tp = False, get_args(tp)[0]
        elif origin is Annotated:
            tp, *meta = get_args(tp)
            for item in meta:
                if isinstance(item, StoredAs):
                    stored = item.key
                elif isinstance(item, SchemaRef):
                    ref = item.name
        else:
            return tp, required, stored, ref


@functools.cache
def fields(record_type: Any) -> tuple[Field, ...]:
    """The fields of a TypedDict, in declaration order (base classes first)."""
    found = []
    for name, hint in get_type_hints(record_type, include_extras=True).items():
        tp, required, stored, ref = unwrap(hint)
        required = required and name in record_type.__required_keys__
        keys = (stored,) if stored else tuple(dict.fromkeys((name, snake_case(name))))
        found.append(Field(name, tp, required, keys, ref))
    return tuple(found)


def _members(tp: Any) -> tuple[Any, ...]:
    return get_args(tp) if get_origin(tp) in (Union, types.UnionType) else ()


def _matches(record_type: Any, value: Mapping[str, Any], complete: bool) -> bool:
    """Whether each Literal-typed field ``value`` has is at one of its values and, if ``complete``, ``value`` has
    every required field of ``record_type`` (chooses the member of a union of TypedDicts: ``Run`` by ``kind``)."""
    for field in fields(record_type):
        found = [value[k] for k in field.stored if k in value]
        if complete and field.required and not found:
            return False
        if found and get_origin(field.type) is Literal and found[0] not in get_args(field.type):
            return False
    return True


def to_api(tp: Any, value: Any) -> Any:
    """``value`` (a stored record, or a list or map of them) in the API shape of type ``tp``."""
    if value is None:
        return None
    if is_typeddict(tp):
        if not isinstance(value, Mapping):
            raise TypeError(f"a {tp.__name__} record must be an object, got {type(value).__name__}")
        shaped: dict[str, Any] = {}
        for field in fields(tp):
            for key in field.stored:
                if key in value:
                    shaped[field.name] = to_api(field.type, value[key])
                    break
        return shaped
    members = _members(tp)
    if members:
        records = [m for m in members if is_typeddict(m)]
        if not records:
            return value
        if len(records) == 1 or not isinstance(value, Mapping):
            return to_api(records[0], value)
        chosen = next((r for r in records if _matches(r, value, True)), None)
        chosen = chosen or next((r for r in records if _matches(r, value, False)), records[0])
        return to_api(chosen, value)
    origin, args = get_origin(tp), get_args(tp)
    if origin is list and args and isinstance(value, list):
        return [to_api(args[0], item) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, Mapping):
        return {key: to_api(args[1], item) for key, item in value.items()}
    return value


def from_api(tp: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    """A request body with the fields of ``tp`` under their stored keys. Each field is accepted under its API
    name, the camelCase of its stored key and the stored key itself (``maxNodeCount``, ``maxNodes``,
    ``max_nodes``); other keys are kept as given. When a field is given twice, its API name wins."""
    renamed: dict[str, Any] = {}
    taken: dict[str, str] = {}
    for field in fields(tp):
        stored = field.stored[-1] if field.stored else field.name
        for alias in (stored, _camel_case(stored), field.name):  # later wins
            if alias in body:
                taken[alias] = stored
                renamed[stored] = body[alias]
    for key, item in body.items():
        if key not in taken:
            renamed.setdefault(key, item)
    return renamed
