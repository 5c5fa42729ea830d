"""Directed-graph helpers shared by the SDK and the service: cycle search and topological order.

Pure functions over hashable nodes; the order of ``nodes`` breaks ties, so results are
deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

__all__ = ["find_cycle", "topological_order"]

N = TypeVar("N", bound=Hashable)


def find_cycle(nodes: Sequence[N], successors: Mapping[N, Sequence[N]]) -> list[N] | None:
    """Return one cycle as a path that starts and ends at the same node, or None.

    Iterative depth-first search, so deep pipelines cannot hit the recursion limit.
    """
    state: dict[N, int] = {}  # 1: on the current path, 2: finished
    for root in nodes:
        if state.get(root):
            continue
        path: list[N] = [root]
        stack = [iter(successors.get(root, ()))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append(iter(successors.get(child, ())))
    return None


def topological_order(nodes: Sequence[N], successors: Mapping[N, Sequence[N]]) -> list[N]:
    """Return ``nodes`` so that every node comes after its predecessors (Kahn's algorithm).

    Among nodes that are ready at the same time, the one earlier in ``nodes`` comes first.
    Raises ValueError if the graph has a cycle (call find_cycle first for a useful message).
    """
    position = {node: index for index, node in enumerate(nodes)}
    indegree = dict.fromkeys(nodes, 0)
    for node in nodes:
        for child in successors.get(node, ()):
            indegree[child] += 1
    ready = sorted((n for n in nodes if indegree[n] == 0), key=position.__getitem__)
    order: list[N] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in successors.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
                ready.sort(key=position.__getitem__)
    if len(order) != len(nodes):
        raise ValueError("graph has a cycle")
    return order
