"""The blueprint decorators of the Function App (triggers, activities, orchestrators), with their real types.

azure-functions-durable ships no type information (no ``py.typed``), so a ``df.Blueprint`` is ``Any`` to mypy,
and azure.functions types its own decorators ``Callable[..., Any]``: ``@bp.route(...)`` would leave every
handler untyped under ``mypy --strict``. What each of these decorators does is register the function in the
blueprint and return the ``FunctionBuilder`` that holds it (not the function), so that the next decorator adds
its binding to the same builder; these wrappers call them unchanged and say exactly that. The handlers' own
signatures and bodies stay checked.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import azure.functions as func
from azure.functions.decorators.function_app import FunctionBuilder

Handler = Callable[..., Any]
Decorator = Callable[[Union[Handler, FunctionBuilder]], FunctionBuilder]


def route(bp: Any, route: str, methods: list[str], auth_level: Optional[func.AuthLevel] = None) -> Decorator:
    """``bp.route``: an HTTP trigger on ``/api/<route>`` (``auth_level`` None: the app's, a function key)."""
    decorator: Decorator = bp.route(route=route, methods=methods, auth_level=auth_level)
    return decorator


def durable_client(bp: Any, client_name: str = "client") -> Decorator:
    """``bp.durable_client_input``: the handler's ``client_name`` argument is a DurableOrchestrationClient."""
    decorator: Decorator = bp.durable_client_input(client_name=client_name)
    return decorator


def timer(bp: Any, arg_name: str, schedule: str, run_on_startup: bool = False) -> Decorator:
    """``bp.timer_trigger`` on an NCRONTAB ``schedule``, without the schedule monitor (``run_on_startup``: also once
    when the host starts)."""
    decorator: Decorator = bp.timer_trigger(
        arg_name=arg_name, schedule=schedule, run_on_startup=run_on_startup, use_monitor=False
    )
    return decorator


def queue(bp: Any, arg_name: str, queue_name: str, connection: str = "AzureWebJobsStorage") -> Decorator:
    """``bp.queue_trigger``: a storage queue trigger (``queue_name`` may be a ``%AppSetting%`` expression)."""
    decorator: Decorator = bp.queue_trigger(arg_name=arg_name, queue_name=queue_name, connection=connection)
    return decorator


def function_name(bp: Any, name: str) -> Decorator:
    """``bp.function_name``: the function's name in the app (the contract's names, ``durableml.contract``)."""
    decorator: Decorator = bp.function_name(name=name)
    return decorator


def activity(bp: Any, input_name: str = "payload") -> Decorator:
    """``bp.activity_trigger``: a Durable activity whose ``input_name`` argument is its input."""
    decorator: Decorator = bp.activity_trigger(input_name=input_name)
    return decorator


def orchestration(bp: Any, context_name: str = "context") -> Decorator:
    """``bp.orchestration_trigger``: a Durable orchestrator (a generator over ``context_name``)."""
    decorator: Decorator = bp.orchestration_trigger(context_name=context_name)
    return decorator
