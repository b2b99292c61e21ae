"""Schemathesis against the OpenAPI schema of a real running server, with an admin key.

Two runs. The first drives each operation's Hypothesis strategy (valid and invalid requests)
through the default checks: no server error, status codes, content types, headers and bodies
that match the schema, invalid data refused, valid data accepted. The second is what
``schemathesis run URL --checks all`` does, through the engine it runs on: every phase
(examples, coverage, fuzzing, stateful), every check (also the Allow header, undeclared methods,
ignored auth, use after free), a fixed seed and bounded examples. Both fail on any failure but
the refusals of schema-valid input by the rules JSON Schema cannot state
(:data:`api.contract.RULES_NOT_IN_SCHEMA`, each documented in its route's 422 answer).

(Schemathesis' own ``pytest.from_fixture`` does not run under pytest 9 yet: it sets
``request.node._nodeid``, which pytest 9 removed. So each operation's Hypothesis
strategy is driven here with ``@given``, which is the same generation and the same
checks through ``case.call_and_validate``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.engine import Status, from_schema
from schemathesis.engine import events as ev
from schemathesis.schemas import APIOperation

from api.contract import RULES_NOT_IN_SCHEMA
from matcher.domain import Challenge, Organisation
from matcher.ingest.cordis import CordisData
from matcher.storage.keys import create_key
from tests.api.live import Server, make_home, running

MAX_EXAMPLES = 30  # per operation and generation mode (valid, invalid)
REQUEST_TIMEOUT = 20
ALL_CHECKS_EXAMPLES = 15  # per operation and phase in the --checks all run
SEED = 19


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


def _tolerated(method: str, path: str, status: int, body: bytes | None) -> bool:
    """Whether refusing schema-valid input (ST202) is expected here: a 422 in the words of one of the
    rules this route documents as beyond JSON Schema. Nothing else is ever tolerated."""
    rules = RULES_NOT_IN_SCHEMA.get((method.upper(), path), ())
    if status != 422 or not rules or not body:
        return False
    detail = json.loads(body).get("detail")
    return any(rule.matches(detail) for rule in rules)


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
            real = [f for f in exc.exceptions if not (f.code == "ST202" and _tolerated(
                operation.method, operation.path, response.status_code, response.content))]
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


def _failures(event: ev.EngineEvent) -> Iterator[str]:
    """The failed checks an engine event reports, one line each, less the tolerated refusals."""
    if isinstance(event, ev.NonFatalError | ev.FatalError):
        yield f"error: {getattr(event, 'label', '')} {getattr(event, 'value', getattr(event, 'exception', ''))}"
        return
    recorder = getattr(event, "recorder", None)
    if not isinstance(event, ev.ScenarioFinished | ev.FuzzScenarioFinished) or recorder is None:
        return
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            failure, sent = check.failure_info.failure, recorder.interactions.get(case_id)
            response = sent.response if sent else None
            operation = recorder.cases[case_id].value.operation if case_id in recorder.cases else None
            if failure.code == "ST202" and response is not None and operation is not None and _tolerated(
                    operation.method, operation.path, response.status_code, response.content):
                continue
            sample = check.failure_info.code_sample
            yield f"{failure.code} {failure.title}: {failure.operation}\n{failure.message}\n{sample}"


def test_api_passes_every_check_in_every_phase(live: Server) -> None:
    """``schemathesis run URL/openapi.json --checks all --phases examples,coverage,fuzzing,stateful``."""
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json", timeout=10)
    config = schema.config
    config.update(headers=live.headers, request_timeout=REQUEST_TIMEOUT, workers=1)
    config.checks.update(included_check_names=["all"])
    config.phases.update(phases=["examples", "coverage", "fuzzing", "stateful"])
    config.generation.update(max_examples=ALL_CHECKS_EXAMPLES, database="none")
    config.seed = SEED
    failures, phases, cases = [], set(), 0
    for event in from_schema(schema).execute():
        failures.extend(_failures(event))
        if isinstance(event, ev.PhaseFinished) and event.status not in (Status.SKIP,):
            phases.add(event.phase.name.value)
        if isinstance(event, ev.ScenarioFinished | ev.FuzzScenarioFinished):
            cases += len(event.recorder.cases)
    assert {"coverage", "fuzzing", "stateful"} <= phases, phases
    assert cases > 500, cases  # the run generated real traffic, not an empty schema
    assert not failures, f"{len(failures)} failed checks:\n\n" + "\n\n".join(dict.fromkeys(failures))
