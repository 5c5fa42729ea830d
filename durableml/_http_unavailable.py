"""The :class:`~durableml.client.ServiceClient` operations the service's HTTP API has no route for yet.

None at the moment: each such operation raises
:class:`~durableml.exceptions.NotSupportedError` naming the feature. When a route appears, its
operation moves to :class:`~durableml.http_client.HttpServiceClient` and out of here.
"""

from __future__ import annotations


from durableml.exceptions import NotSupportedError

__all__ = ["UnavailableOperations"]


class UnavailableOperations:
    """The operations without a route, as a base of :class:`~durableml.http_client.HttpServiceClient`."""

    # Every operation of the ServiceClient protocol has a route now; new ones without a route go here.


def _unavailable(feature: str) -> NotSupportedError:
    return NotSupportedError(
        feature,
        "It is not available yet in durableml: the service's HTTP API has no route for it "
        "(see 'The HTTP API' in docs/design/pipeline-runtime.md).",
    )
