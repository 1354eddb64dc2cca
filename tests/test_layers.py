"""The layers hold: imgsync's own imports form no cycle, and hosts never reach into the engine.

Read from the source with ast, every import counted (at the top, inside functions and
under TYPE_CHECKING alike), so a lazy import can't hide a wrong arrow.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "imgsync"
# The upload engine and everything above it: a host that imported any of them would
# tie one file per host to the machinery that drives all hosts.
ENGINE = ("imgsync.transfer", "imgsync.upload", "imgsync.pipeline", "imgsync.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The imgsync modules `path` imports, resolved to the module (not the name) they load."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if not base.startswith("imgsync"):
                continue
            for alias in node.names:  # `from . import x` may name a module
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("imgsync"))
    return found - {name}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: imports_of(path) & MODULES.keys() for name, path in MODULES.items()}


def test_every_import_names_a_module_that_exists() -> None:
    for name, path in MODULES.items():
        assert imports_of(path) <= MODULES.keys(), name


def test_imgsyncs_own_imports_form_no_cycle() -> None:
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = [*trail[trail.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(GRAPH[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])


def arrows_into_the_engine(prefix: str) -> list[str]:
    return [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.startswith(prefix)
        for target in targets
        if target.startswith(ENGINE)
    ]


def test_no_host_imports_the_engine() -> None:
    assert arrows_into_the_engine("imgsync.hosts") == []


def test_the_fake_hosts_import_nothing_of_the_engine_either() -> None:
    assert arrows_into_the_engine("imgsync.testing") == []


def test_the_architecture_page_maps_every_module_and_no_other() -> None:
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    mapped = set(re.findall(r"^\| `(imgsync/[\w/]+\.py)` \|", page, flags=re.MULTILINE))
    on_disk = {p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sorted(on_disk - mapped) == [], "modules missing from docs/architecture.md"
    assert sorted(mapped - on_disk) == [], "docs/architecture.md maps modules that don't exist"
