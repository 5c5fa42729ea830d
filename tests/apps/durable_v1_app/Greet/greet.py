"""v1 activity in a scriptFile other than __init__.py, entryPoint ``run``, importing a sibling folder relatively."""

from ..shared.words import greeting


def run(city: str) -> str:
    return greeting(city)
