"""The package's shape: the public API resolves, and imports only point down the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import matcher

ROOT = Path(matcher.__file__).resolve().parent
ABOVE = {  # a package must not import any of these (they stand above it)
    "storage": ("matcher.retrieval", "matcher.ranking", "matcher.evaluation", "matcher.engine", "matcher.queries",
                "matcher.consortium", "matcher.service", "matcher.cli"),
    "retrieval": ("matcher.ranking", "matcher.evaluation", "matcher.engine", "matcher.queries",
                  "matcher.consortium", "matcher.service", "matcher.cli"),
    "ranking": ("matcher.evaluation", "matcher.engine", "matcher.queries", "matcher.consortium",
                "matcher.service", "matcher.cli"),
    "evaluation": ("matcher.service", "matcher.cli"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_every_public_name_resolves() -> None:
    assert {"Matcher", "Query", "Store", "Settings", "Pipeline"} <= set(matcher.__all__)
    for name in matcher.__all__:
        assert getattr(matcher, name) is not None
    with pytest.raises(AttributeError):
        matcher.NoSuchThing  # noqa: B018


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_imports_only_point_down(package: str) -> None:
    bad = {f"{p.relative_to(ROOT)}: {name}" for p in (ROOT / package).rglob("*.py") for name in _imports(p)
           if name.startswith(ABOVE[package])}
    assert not bad


def test_the_library_never_imports_the_web_layer() -> None:
    bad = {f"{p.relative_to(ROOT)}: {name}" for p in ROOT.rglob("*.py") for name in _imports(p)
           if name.split(".")[0] in ("api", "fastapi", "starlette")}
    assert not bad  # the CLI's serve command names the app by its import string, never imports it
