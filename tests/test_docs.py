"""Docs that cannot drift: docs/CLI.md is the commands' own help, docs/API.md's endpoint table is the app's routes.

The examples in the modules' docstrings run as doctests (``--doctest-modules`` in pyproject.toml).
"""

from __future__ import annotations

import doctest
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from api.app import create_app
from matcher.config import Settings

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "API.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
Route = tuple[str, str]


def _load_cli_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "scripts" / "cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli_docs = _load_cli_docs()


# --- docs/CLI.md ---------------------------------------------------------------------------------------------


def _section(doc: str, path: str) -> str:
    """The part of docs/CLI.md under the heading ``## path``, up to the next heading."""
    start = doc.index(f"\n## {path}\n")
    end = doc.find("\n## ", start + 1)
    return doc[start:] if end < 0 else doc[start:end]


def test_cli_reference_is_up_to_date() -> None:
    assert (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8") == cli_docs.render(), (
        f"docs/CLI.md is stale: run {cli_docs.COMMAND}")


def test_cli_reference_shows_every_command_argument_and_option() -> None:
    doc = cli_docs.render()
    missing = []
    for path, cmd, _ctx in cli_docs.commands():
        if f"\n## {path}\n" not in doc:
            missing.append(path)
            continue
        section = _section(doc, path)
        for p in cmd.params:
            names = [*p.opts, *p.secondary_opts] if p.param_type_name == "option" else [p.name]
            missing += [f"{path} {name}" for name in names if name not in section]
    assert len(cli_docs.commands()) > 10
    assert not missing, f"not in docs/CLI.md: {missing}"


def test_every_command_argument_and_option_has_help_text() -> None:
    missing = []
    for path, cmd, _ctx in cli_docs.commands():
        if not (cmd.help or "").strip():
            missing.append(path)
        missing += [f"{path} {p.name}" for p in cmd.params if not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"commands, arguments or options without help text: {missing}"


def test_cli_docs_script_checks_and_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "CLI.md"
    doc.write_text("# Command line reference\n\nan old page\n", encoding="utf-8")
    assert cli_docs.main(["--check"], doc) == 1
    assert "stale" in capsys.readouterr().err
    assert cli_docs.main([], doc) == 0
    assert cli_docs.main(["--check"], doc) == 0
    assert doc.read_text(encoding="utf-8") == cli_docs.render()


def test_cli_docs_script_examples() -> None:
    result = doctest.testmod(cli_docs)
    assert result.attempted >= 2 and result.failed == 0


def test_cli_help_is_plain_text_of_a_fixed_width() -> None:
    text = cli_docs.render()
    assert "\x1b[" not in text and "╭" not in text  # no colour codes, no rich panels
    blocks = re.findall(r"```text\n(.*?)```", text, flags=re.S)
    assert blocks and max(len(line) for b in blocks for line in b.splitlines()) <= cli_docs.WIDTH


# --- docs/API.md's endpoint table ----------------------------------------------------------------------------


def normalise(path: str) -> str:
    """A path without its query string, each path parameter written ``{}`` (its name is not part of the route).

    >>> normalise("/v1/organisations/{org_id}/partners?k&exclude_past_partners")
    '/v1/organisations/{}/partners'
    """
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def routes_in_cell(cell: str) -> list[Route]:
    """The (method, path) pairs that one cell of the table names; methods before a path share it.

    >>> routes_in_cell("`GET`, `PATCH /v1/challenges/{id}`, `GET /v1/feedback?verdict`")
    [('GET', '/v1/challenges/{}'), ('PATCH', '/v1/challenges/{}'), ('GET', '/v1/feedback')]
    """
    routes: list[Route] = []
    pending: list[str] = []
    for code in re.findall(r"`([^`]+)`", cell):
        method, _, path = code.strip().partition(" ")
        if method not in METHODS or (path and not path.startswith("/")):
            raise ValueError(f"not `METHOD /path` in the endpoint table: {code!r}")
        pending.append(method)
        if path:
            routes += [(m, normalise(path.strip())) for m in pending]
            pending = []
    if pending or not routes:
        raise ValueError(f"a row of the endpoint table without a path: {cell!r}")
    return routes


def endpoint_table(markdown: str) -> set[Route]:
    """Every (method, path) in the first column of the table under ``## Endpoints``."""
    section = markdown.split("\n## Endpoints\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # after the header and rule
    assert rows, "no table under ## Endpoints"
    return {route for row in rows for route in routes_in_cell(row.split("|")[1])}


def app_routes(app: Any) -> set[Route]:
    """Every (method, path) of the HTTP API, as its OpenAPI schema lists them (the web UI's pages are not in it)."""
    return {(method.upper(), normalise(path)) for path, item in app.openapi()["paths"].items()
            for method in item if method.upper() in METHODS}


def drift(table: set[Route], routes: set[Route]) -> tuple[set[Route], set[Route]]:
    """The routes under /v1 the table lacks, and the table's rows the app does not have."""
    return {r for r in routes if r[1].startswith("/v1/") or r[1] == "/v1"} - table, table - routes


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> set[Route]:
    return app_routes(create_app(Settings(home=tmp_path_factory.mktemp("home"))))


def test_endpoint_table_matches_the_apps_routes(routes: set[Route]) -> None:
    missing, unknown = drift(endpoint_table(API_DOC.read_text(encoding="utf-8")), routes)
    assert not missing, f"routes of the app missing from docs/API.md's endpoint table: {sorted(missing)}"
    assert not unknown, f"rows of docs/API.md's endpoint table that the app does not have: {sorted(unknown)}"


def test_endpoint_table_check_sees_a_missing_and_an_unknown_row(routes: set[Route]) -> None:
    doc = API_DOC.read_text(encoding="utf-8")
    search_row = next(line for line in doc.splitlines() if line.startswith("| `POST /v1/search`"))
    changed = doc.replace(search_row, search_row.replace("/v1/search", "/v1/find"))
    assert drift(endpoint_table(changed), routes) == ({("POST", "/v1/search")}, {("POST", "/v1/find")})
    assert ("DELETE", "/v1/challenges/{}") in endpoint_table(doc)  # a method listed before its path counts
    assert {"/health", "/ready", "/metrics"} <= {path for _, path in routes}  # the system routes are seen


def test_endpoint_table_refuses_a_row_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="without a path"):
        routes_in_cell("`GET`, `PATCH`")
    with pytest.raises(ValueError, match="METHOD /path"):
        routes_in_cell("`/v1/consortium...`")
