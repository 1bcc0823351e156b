"""An import-linter contract that import-linter does not ship: no import cycle between modules.

import-linter's own ``acyclic_siblings`` looks at packages: it would flag ``models`` ->
``gitlab`` (models use the pure GitLab helpers) beside ``gitlab.intake`` -> ``models`` even
though no module imports itself through that chain. What makes code hard to follow, and
needs imports inside functions to load at all, is a cycle of modules, so this contract
checks exactly that: the strongly connected components of the module graph (Tarjan's
algorithm) under the given packages must all be single modules.

Configured in pyproject.toml under ``[tool.importlinter]``; run by ``make lint``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules: set[str] = set()
        for package in self.packages:  # type: ignore[attr-defined]
            modules |= {package} | graph.find_descendants(package)
        edges = {
            module: sorted(graph.find_modules_directly_imported_by(module) & modules)
            for module in modules
        }
        cycles = [sorted(group) for group in strongly_connected(edges) if len(group) > 1]
        return ContractCheck(kept=not cycles, metadata={"cycles": sorted(cycles)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(f"{len(cycle)} modules import each other:")
            for module in cycle:
                output.print(f"  - {module}")
            output.new_line()


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to hit)."""
    search = _Tarjan(edges)
    for root in sorted(edges):
        if root not in search.index:
            search.visit(root)
    return search.groups


class _Tarjan:
    def __init__(self, edges: Mapping[str, Iterable[str]]) -> None:
        self.edges = edges
        self.index: dict[str, int] = {}
        self.low: dict[str, int] = {}
        self.stack: list[str] = []
        self.on_stack: set[str] = set()
        self.groups: list[list[str]] = []

    def _enter(self, node: str) -> tuple[str, Iterator[str]]:
        self.index[node] = self.low[node] = len(self.index)
        self.stack.append(node)
        self.on_stack.add(node)
        return node, iter(self.edges.get(node, ()))

    def visit(self, root: str) -> None:
        work = [self._enter(root)]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    self.low[parent] = min(self.low[parent], self.low[node])
                self._close(node)
            elif child not in self.index:
                work.append(self._enter(child))
            elif child in self.on_stack:
                self.low[node] = min(self.low[node], self.index[child])

    def _close(self, node: str) -> None:
        if self.low[node] != self.index[node]:
            return
        group = []
        while True:
            member = self.stack.pop()
            self.on_stack.discard(member)
            group.append(member)
            if member == node:
                break
        self.groups.append(group)
