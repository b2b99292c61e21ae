"""The ``matcher`` command line: a thin edge over the library.

Human tables by default, ``--json`` for scripts; errors are one line on stderr
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from matcher.cli_admin import audit_cmd, ensure_admin_key, keys_app, signin_link
from matcher.cli_backup import backup_cmd, restore_cmd
from matcher.cli_embed import embed_cmd
from matcher.config import Settings, get_settings
from matcher.domain import Filters, Suggestion, parse_kind
from matcher.errors import InvalidInput, MatcherError

app = typer.Typer(help="Partner matching for MedTech ecosystems.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
import_app = typer.Typer(help="Import organisations and projects.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(keys_app, name="keys")
app.command("audit")(audit_cmd)
app.command("embed")(embed_cmd)
app.command("backup")(backup_cmd)
app.command("restore")(restore_cmd)
err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
RolesOpt = Annotated[bool, typer.Option("--roles", help=(
    "Answer per role: the partners the text names (or complementary kinds), each with its own "
    "suggestions; JSON adds a 'roles' key."))]
KOpt = Annotated[int, typer.Option("-k", "--k", min=1, max=500, help="How many organisations to return.")]
KindOpt = Annotated[list[str] | None, typer.Option("--kind", help="Keep only this kind (repeatable).")]
CountryOpt = Annotated[list[str] | None, typer.Option("--country", help="Keep only this country code (repeatable).")]
NutsOpt = Annotated[list[str] | None, typer.Option("--nuts", help="Keep only this NUTS region prefix (repeatable).")]
SmeOpt = Annotated[bool | None, typer.Option("--sme/--no-sme", help="Keep only SMEs, or only non-SMEs.")]
ExcludeOpt = Annotated[list[int] | None, typer.Option("--exclude", help="Leave out this organisation id.")]


def main() -> None:
    """Entry point: run the app, turning domain errors into one line and exit code 1."""
    try:
        app()
    except MatcherError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, Any], Callable[[int], None]]]:
    """A rich progress bar on stderr; yields ``start(label, total, _) -> advance(n)``."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=False, disable=not err.is_terminal and False) as bar:
        def start(label: str, total: int, _unused: Any = None) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)
        yield start


def _filters(kind: list[str] | None, country: list[str] | None, nuts: list[str] | None, sme: bool | None,
             exclude: list[int] | None) -> Filters:
    return Filters(kinds=[parse_kind(k) for k in kind or []], countries=[c.upper() for c in country or []],
                   nuts=[n.upper() for n in nuts or []], sme=sme, exclude_ids=list(exclude or []))


def _open(settings: Settings | None = None, sync: bool = True):  # type: ignore[no-untyped-def]
    from matcher.service import open_matcher

    m = open_matcher(settings or get_settings())
    if sync:
        with progress_bar() as start:
            m.sync(start)
    return m


def print_suggestions(suggestions: list[Suggestion], by_role: list[Any] | None = None, *,
                      as_json: bool) -> None:
    """The shared output of search, suggest and partners (with ``by_role``: a table per role)."""
    if as_json:
        body: dict[str, Any] = {"data": [s.to_dict() for s in suggestions], "count": len(suggestions)}
        if by_role is not None:
            body["roles"] = [r.to_dict() for r in by_role]
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    if by_role:
        for r in by_role:
            out.print(f"[bold]{r.role.name.replace('_', ' ')}[/bold]: {r.role.need[:200]}")
            print_suggestions(r.suggestions, as_json=False)
        return
    if not suggestions:
        out.print("No matching organisations.")
        return
    table = Table("#", "id", "organisation", "kind", "country", "score", "best evidence")
    for s in suggestions:
        ev = s.explanation.get("evidence") or [{}]
        table.add_row(str(s.rank), str(s.organisation.id), s.organisation.name, s.organisation.kind,
                      s.organisation.country, f"{s.score:.4f}", (ev[0].get("title") or "")[:70])
    out.print(table)


@import_app.command("cordis")
def import_cordis_cmd(folder: Annotated[Path, typer.Argument(
                          help="Folder with projects.csv.gz and participants.csv.gz.")],
                      as_json: JsonOpt = False) -> None:
    """Import a CORDIS export (idempotent: importing twice changes nothing)."""
    from matcher.ingest.cordis import CordisData, import_cordis
    from matcher.service import open_store

    store = open_store(get_settings())
    data = CordisData.read(folder)
    with progress_bar() as start:
        summary = import_cordis(store, data, start("importing", len(data.participants)))
    report = {"organisations_new": summary.organisations_new, "organisations_updated": summary.organisations_updated,
              "projects": summary.projects, "memberships_new": summary.memberships_new,
              "evidence_new": summary.evidence_new}
    typer.echo(json.dumps(report) if as_json else "  ".join(f"{k}: {v}" for k, v in report.items()))


@import_app.command("csv")
def import_members_cmd(path: Annotated[Path, typer.Argument(help="Member list: .csv, .json or .xlsx.")],
                       as_json: JsonOpt = False) -> None:
    """Import a cluster's member list (CSV, JSON or Excel); bad rows are reported, good rows imported."""
    from matcher.access import LOCAL_ADMIN
    from matcher.ingest.load import import_members
    from matcher.service import open_store
    from matcher.storage.audit import record_import

    store = open_store(get_settings())
    report = import_members(store, path)
    record_import(store, LOCAL_ADMIN, path.name, report)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(f"imported: {report['imported']}  rejected: {len(report['errors'])}")
        for e in report["errors"]:
            typer.echo(f"  line {e['line']}: {e['reason']}")
    if report["errors"]:
        raise typer.Exit(3)


@app.command("index")
def index_cmd(as_json: JsonOpt = False) -> None:
    """Embed what is not embedded yet and bring the vector index up to date."""
    m = _open()
    snap = m.snapshot_
    info = {"model": m.encoder.model_id, "vectors": len(snap.vectors) if snap else 0,
            "change_no": snap.change_no if snap else -1, "kind": snap.vectors.kind if snap else None}
    typer.echo(json.dumps(info) if as_json else "  ".join(f"{k}: {v}" for k, v in info.items()))


@app.command("search")
def search_cmd(text: Annotated[str, typer.Argument(help="What you look for, in English or Dutch.")],
               k: KOpt = 10, kind: KindOpt = None, country: CountryOpt = None, nuts: NutsOpt = None,
               sme: SmeOpt = None, exclude: ExcludeOpt = None, roles: RolesOpt = False,
               as_json: JsonOpt = False) -> None:
    """Rank organisations for a free-text need."""
    from matcher.queries import search_by_role, text_query

    m = _open()
    query = text_query(m, text, k, _filters(kind, country, nuts, sme, exclude))
    if roles:
        print_suggestions(*search_by_role(m, query), as_json=as_json)
    else:
        print_suggestions(m.search(query), as_json=as_json)


@app.command("suggest")
def suggest_cmd(challenge_id: Annotated[int, typer.Argument(help="Id of a stored challenge.")], k: KOpt = 10,
                kind: KindOpt = None, country: CountryOpt = None, nuts: NutsOpt = None, sme: SmeOpt = None,
                as_json: JsonOpt = False) -> None:
    """Rank organisations for a stored challenge (its poser left out)."""
    from matcher.queries import suggest_for_challenge_by_role

    m = _open()
    found, by_role = suggest_for_challenge_by_role(m, challenge_id, k, _filters(kind, country, nuts, sme, None))
    print_suggestions(found, by_role, as_json=as_json)


@app.command("partners")
def partners_cmd(org_id: Annotated[int, typer.Argument(help="Id of the organisation looking for partners.")],
                 k: KOpt = 10, exclude_past: Annotated[bool, typer.Option(
                     "--exclude-past-partners", help="Leave out organisations it already worked with.")] = False,
                 kind: KindOpt = None, country: CountryOpt = None, nuts: NutsOpt = None, sme: SmeOpt = None,
                 roles: RolesOpt = False, as_json: JsonOpt = False) -> None:
    """Suggest partners for an organisation (from its seeks, else its profile)."""
    from matcher.queries import partners_by_role, partners_for

    m = _open()
    f = _filters(kind, country, nuts, sme, None)
    if roles:
        print_suggestions(*partners_by_role(m, org_id, k, exclude_past, f), as_json=as_json)
    else:
        print_suggestions(partners_for(m, org_id, k, exclude_past, f), as_json=as_json)


@app.command("challenges")
def challenges_cmd(as_json: JsonOpt = False) -> None:
    """List stored challenges."""
    from matcher.service import open_store

    items = open_store(get_settings()).list_challenges()
    if as_json:
        typer.echo(json.dumps({"data": [{"id": c.id, "title": c.title, "confidentiality": c.confidentiality}
                                        for c in items], "count": len(items)}, ensure_ascii=False))
        return
    table = Table("id", "title", "confidentiality", "wanted kinds")
    for c in items:
        table.add_row(str(c.id), c.title, c.confidentiality, ", ".join(c.wanted_kinds))
    out.print(table)


@app.command("demo")
def demo_cmd(force: Annotated[bool, typer.Option(help="Load even into a database that holds other data.")] = False,
             as_json: JsonOpt = False) -> None:
    """Load the demo data (real East-Netherlands organisations, sample challenges) and index it."""
    from matcher.demo import DEMO_DIR, load_demo
    from matcher.ingest.cordis import CordisData
    from matcher.retrieval.embed import load_encoder
    from matcher.service import open_store

    settings = get_settings()
    store = open_store(settings)
    with progress_bar() as start:
        data = CordisData.read(DEMO_DIR)
        summary, challenge_ids = load_demo(store, tick=start("importing demo", len(data.participants)),
                                           force=force, encoder=load_encoder(settings.model), data=data)
    m = _open(settings)
    info = {"organisations": store.count_organisations(), "challenges": len(challenge_ids),
            "evidence_new": summary.evidence_new, "vectors": len(m.snapshot_.vectors) if m.snapshot_ else 0}
    typer.echo(json.dumps(info) if as_json else "  ".join(f"{k}: {v}" for k, v in info.items()))


DEFAULT_METHODS = "random,popularity,tfidf,bm25,dense,hybrid,fusion,matcher"


@app.command("eval")
def eval_cmd(catalogue: Annotated[Path, typer.Option(help="CORDIS folder used as the catalogue.")],
             queries: Annotated[Path | None, typer.Option(help="CORDIS folder of query projects "
                                                          "(default: the catalogue, split by date).")] = None,
             split_date: Annotated[str | None, typer.Option(help="Queries start on or after this date "
                                                            "(YYYY-MM-DD); the catalogue before it.")] = None,
             splits: Annotated[str | None, typer.Option(help="Several split dates, comma-separated (e.g. 2023-10-01,"
                                                        "2024-01-01,2024-04-01): every metric as mean and range "
                                                        "over them, gains over bm25 smaller than their spread "
                                                        "called noise. With --queries: that folder's projects "
                                                        "from each date on, against the catalogue before it.")] = None,
             task: Annotated[str, typer.Option(help="cold (text only), seeded (coordinator given), role (one kind "
                                                    "group at a time: who can do this part?) or crosslingual (Dutch "
                                                    "and English pairs, over the catalogue folder as the demo loads "
                                                    "it).")] = "cold",
             min_partners: Annotated[int, typer.Option(min=1, help="Minimum partners of a query project.")] = 3,
             methods: Annotated[str, typer.Option(help="Comma-separated methods to compare (the role task: "
                                                       "popularity, tfidf, bm25, dense, fusion, matcher).")
                                ] = DEFAULT_METHODS,
             out_dir: Annotated[Path | None, typer.Option("--out", help="Write JSON, Markdown and a PNG plot here.")
                                ] = None,
             as_json: JsonOpt = False) -> None:
    """Measure recall of real consortia against baselines, all in one run (never touches your database)."""
    from matcher.evaluation import evaluate, report
    from matcher.evaluation.roles_eval import ROLE_METHODS, run_roles
    from matcher.evaluation.splits import combine
    from matcher.ingest.cordis import CordisData
    from matcher.ranking.rank import load_default
    from matcher.retrieval.embed import load_encoder
    from matcher.storage.store import Store

    tasks = (*evaluate.TASKS, "role", "crosslingual")
    if task not in tasks:  # choices are checked before minutes of importing and embedding
        raise InvalidInput(f"--task: expected one of {', '.join(tasks)}")
    if task == "crosslingual":
        _crosslingual(catalogue, as_json)
        return
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    allowed = ROLE_METHODS if task == "role" else evaluate.METHODS
    if task == "role" and methods == DEFAULT_METHODS:
        chosen = list(ROLE_METHODS)
    if [m for m in chosen if m not in allowed]:
        raise InvalidInput(f"--methods: unknown {', '.join(m for m in chosen if m not in allowed)}; "
                           f"expected: {', '.join(allowed)}")
    dates = [d.strip() for d in splits.split(",") if d.strip()] if splits else [split_date]
    if splits and split_date:
        raise InvalidInput("--splits: give either --splits or --split-date, not both")
    if splits and len(dates) < 2:
        raise InvalidInput("--splits: give at least two dates, comma-separated (one date: --split-date)")
    for d in dates:
        if d is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
            raise InvalidInput(f"--splits/--split-date: {d!r} is not a date YYYY-MM-DD")
    settings = get_settings()
    cat = CordisData.read(catalogue)
    cache = Store(f"sqlite:///{(settings.home / 'cache' / 'vectors.db').resolve()}")
    encoder = load_encoder(settings.model)
    results = []
    for date in dates:
        split = evaluate.Split.make(cat, CordisData.read(queries) if queries else None, date)
        with progress_bar() as start:
            ev = evaluate.prepare(split, encoder, cache, min_partners, progress=start)
        ev.ranker = load_default(settings.ranker, encoder.model_id)
        trained_before = getattr(ev.ranker, "card_", {}).get("training", {}).get("trained_before", "")
        first_query = min((p["start_date"] for p in split.queries.projects.values()), default="")
        if ev.ranker is not None and trained_before > first_query:
            raise InvalidInput(f"the ranker was trained on projects up to {trained_before}, later than the first "
                               f"query ({first_query}): set MATCHER_RANKER=off or retrain with an earlier split")
        results.append(run_roles(ev, chosen) if task == "role" else evaluate.run(ev, task, chosen))
    result = combine(dates, results) if splits else results[0]  # type: ignore[arg-type]
    result.update({"split_date": split_date, "catalogue": str(catalogue), "query_folder": str(queries or catalogue)})
    if out_dir:
        report.write(result, out_dir)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in result.items()}, default=float))
    else:
        out.print(report.table(result))


def _crosslingual(folder: Path, as_json: bool) -> None:
    """The Dutch/English pairs over ``folder`` loaded as the demo loads it (shipped vectors where it has them)."""
    import tempfile

    from matcher.demo import load_demo
    from matcher.engine import Matcher
    from matcher.evaluation.crosslingual import PAIRS_FILE, load_pairs, run_crosslingual
    from matcher.ingest.cordis import CordisData
    from matcher.ranking.rank import load_default
    from matcher.retrieval.embed import load_encoder
    from matcher.storage.store import Store

    settings = get_settings()
    encoder = load_encoder(settings.model)
    with tempfile.TemporaryDirectory(prefix="matcher-xl-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'xl.db'}")
        load_demo(store, Path(folder), encoder=encoder, data=CordisData.read(folder))
        m = Matcher(store, encoder, None, ranker=load_default(settings.ranker, encoder.model_id))
        with progress_bar() as start:
            m.sync(start)
        result = run_crosslingual(m, load_pairs(PAIRS_FILE))
        store.close()
    result = {"task": "crosslingual", "catalogue": str(folder), "model": encoder.model_id, **result}
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(f"{len(result['per_pair'])} pairs: mean overlap of the top {result['k']} "
               f"{result['mean_overlap']:.2f}, lowest {result['min_overlap']}, English first organisation in the "
               f"Dutch top 5 for {result['first_in_top5']:.0%}")


@app.command("train-ranker")
def train_ranker_cmd(
        catalogue: Annotated[Path, typer.Option(help="CORDIS folder whose history trains the ranker.")],
        split_date: Annotated[str, typer.Option(help="Train on projects before this date (YYYY-MM-DD) and "
                                                     "judge on the projects from it on.")] = "2024-04-01",
        train_from: Annotated[str, typer.Option(help="Comma-separated starts of training-query periods; each "
                                                     "period runs to --split-date, its catalogue is what came "
                                                     "before.")] = "2022-10-01,2023-04-01",
        model: Annotated[str, typer.Option(help="gbt (gradient-boosted trees) or logreg.")] = "gbt",
        out_dir: Annotated[Path | None, typer.Option("--out", help="Folder to save the ranker and its card "
                                                               "(default: models/ranker).")] = None,
        feedback: Annotated[bool, typer.Option("--feedback/--no-feedback", help="Add the verdicts users gave "
                                               "in the service's database as weighted examples.")] = True,
        earlier_splits: Annotated[str | None, typer.Option(help="Comma-separated earlier split dates: a ranker "
                                                               "is trained the same way before each and judged "
                                                               "after it, and the ranker is used for a task only "
                                                               "if it wins on the mean over all the splits.")] = None,
        as_json: JsonOpt = False) -> None:
    """Train the learned ranker on real consortia and judge it against the unlearned fusion."""
    from matcher.evaluation.train import judge_over_splits, shifted, train_and_judge
    from matcher.ingest.cordis import CordisData
    from matcher.ranking.rank import DEFAULT_DIR
    from matcher.retrieval.embed import load_encoder
    from matcher.service import open_store
    from matcher.storage.keys import feedback_for_training
    from matcher.storage.store import Store

    periods = [s.strip() for s in train_from.split(",") if s.strip()]
    others = [d.strip() for d in (earlier_splits or "").split(",") if d.strip()]
    for d in [split_date, *periods, *others]:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", d):
            raise InvalidInput(f"{d!r} is not a date YYYY-MM-DD")
    if [d for d in others if d >= split_date]:
        raise InvalidInput("--earlier-splits: every date must be before --split-date")
    settings = get_settings()
    cache = Store(f"sqlite:///{(settings.home / 'cache' / 'vectors.db').resolve()}")
    verdicts = feedback_for_training(open_store(settings)) if feedback else []
    data, encoder = CordisData.read(catalogue), load_encoder(settings.model)
    with progress_bar() as start:
        earlier = [train_and_judge(data, d, shifted(periods, split_date, d), encoder, cache, model,
                                   progress=start, feedback=verdicts)[1] for d in sorted(others)]
        ranker, card = train_and_judge(data, split_date, periods, encoder, cache, model, progress=start,
                                       feedback=verdicts)
    if earlier:
        card = judge_over_splits(card, earlier)
    card["training"]["source"] = str(catalogue)
    folder = out_dir or DEFAULT_DIR
    ranker.save(folder, card)
    if as_json:
        typer.echo(json.dumps({"folder": str(folder), **card}))
        return
    for task, methods in card["evaluation"]["figures"].items():
        for name, v in methods.items():
            typer.echo(f"{task:7s} {name:8s} " + "  ".join(f"{k} {x:.3f}" for k, x in v.items()))
    used = [t for t, won in card["use_by_default"].items() if won]
    typer.echo(f"saved to {folder}; used by default for: {', '.join(used) or 'no task'}")


@app.command("export-model")
def export_model_cmd(variant: Annotated[list[str] | None, typer.Option(
        "--variant", help="fp32 or int8 for MiniLM, use-m3 for USE (repeatable; default all three: MiniLM int8 and "
                          "USE are served, MiniLM fp32 is int8's source).")] = None,
        force: Annotated[bool, typer.Option(help="Export again even if the folder is up to date.")] = False,
        as_json: JsonOpt = False) -> None:
    """Export the packaged encoders to ONNX under models/onnx/ (make install runs this; offline).

    The serving encoders load these folders with ONNX Runtime and never import torch: MiniLM (exported with
    torch) and the multilingual USE (its numpy network written as an ONNX graph by our code). Each manifest
    records the source model, the export tool and versions, the checksum and the check against the source's
    own vectors (sentence-transformers; the numpy USE).
    """
    from matcher.retrieval import onnx_model, use_onnx

    known = [*onnx_model.VARIANTS, use_onnx.FOLDER_NAME]
    variants = variant or known
    for v in variants:  # validated before any work
        if v not in known:
            raise InvalidInput(f"unknown variant {v!r}; expected one of: {', '.join(known)}")
    done = {}
    for v in variants:
        is_use = v == use_onnx.FOLDER_NAME
        folder = onnx_model.DEFAULT_ROOT / v
        try:
            if force:
                raise onnx_model.ModelNotExported("forced")
            manifest = use_onnx.read_manifest(folder) if is_use else onnx_model.read_manifest(folder, v)
        except onnx_model.ModelNotExported:
            if is_use:
                folder = use_onnx.export()
                manifest = use_onnx.read_manifest(folder)
            else:
                from matcher.retrieval.export import export

                folder = export(v)
                manifest = onnx_model.read_manifest(folder, v)
        done[v] = {"folder": str(folder), "sha256": manifest["model"]["sha256"], "check": manifest.get("check")}
    if as_json:
        print(json.dumps(done, indent=2))
        return
    for v, d in done.items():
        check = d["check"] or {}
        source = "the numpy USE" if v == use_onnx.FOLDER_NAME else "sentence-transformers"
        out.print(f"{v}: {d['folder']}  sha256 {d['sha256'][:12]}  min cosine to {source} "
                  f"{check.get('min_cosine')}", highlight=False)


def serving_threads(workers: int, cores: int | None = None) -> int:
    """Threads for each query's encoders and matrix products in a serving process: a share of the cores for
    two queries at a time per worker, at least one. Requests run side by side in a worker's threads, and
    two-thread calls side by side oversubscribe two cores (one worker, four clients, titles: 36.8 req/s with one
    thread a call against 29.7 with two; one client: 33.6 against 35.7; docs/BENCHMARKS.md).

    >>> serving_threads(1, 2), serving_threads(2, 2), serving_threads(1, 16), serving_threads(4, 16)
    (1, 1, 8, 2)
    """
    return max(1, (cores or os.cpu_count() or 1) // (2 * workers))


@app.command("serve")
def serve_cmd(host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
              port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
              workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 1,
              demo: Annotated[bool, typer.Option("--demo", help="Load the demo data first if the database is empty.")
                              ] = False) -> None:
    """Start the HTTP service (API under /v1, docs at /docs).

    SIGTERM or SIGINT stops it cleanly: /ready answers 503 for MATCHER_DRAIN_DELAY s, then no new
    connections, requests in flight finish within MATCHER_DRAIN_TIMEOUT s, exit status 0. With several
    workers a supervisor replaces a worker that dies (at most MATCHER_RESTART_LIMIT within
    MATCHER_RESTART_WINDOW s), and the workers leave when the supervisor is gone.
    """
    from matcher.service import open_store
    from matcher.serving import Drain, listen
    from matcher.supervise import RestartLimit, serve

    if not os.environ.get("MATCHER_THREADS"):  # before any encoder loads: see serving_threads
        os.environ["MATCHER_THREADS"] = str(serving_threads(workers))
    settings = get_settings()
    if demo and open_store(settings).count_organisations() == 0:
        demo_cmd(force=False, as_json=False)
    from matcher.service import shared_matcher

    shared = shared_matcher(settings)
    if workers == 1:  # this process serves: the encoder's set-up overlaps the sync and the app's imports
        shared.warm_up(wait=False)
    with progress_bar() as start:  # embed and index before the workers start, so they load a ready index
        shared.sync(start)
    ensure_admin_key(settings)
    h, p = host or settings.host, port or settings.port
    link = signin_link(settings, h, p)
    if link:  # a newcomer clicks once and is on the search page; the key stays for the API
        from matcher.storage.sessions import LINK_LIFETIME

        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        err.print(f"sign in to the web UI as the local admin (one-time link, valid {minutes} minutes):\n{link}",
                  highlight=False, soft_wrap=True)
    drain = Drain(settings.drain_delay, settings.drain_timeout)
    restarts = RestartLimit(settings.restart_limit, settings.restart_window)
    try:
        sock = listen(h, p)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise MatcherError(f"cannot listen on {h}:{p}: {exc.strerror or exc}") from exc
    err.print(f"matcher serving on http://{h}:{p}  (API docs at http://{h}:{p}/docs)")
    raise typer.Exit(serve("api.app:app", sock, workers, drain, restarts))


if __name__ == "__main__":  # pragma: no cover
    main()


# ---- consortium builder (issue 6) -----------------------------------------------------------
@app.command("consortium")
def consortium_cmd(
        instrument: Annotated[str, typer.Option(help="Funding instrument id: horizon-ria, horizon-ia, horizon-csa, "
                                                     "eic-pathfinder, eurostars, mit-rd or care-pilot.")],
        text: Annotated[Path, typer.Option(help="File with the call or challenge text.")],
        fixed: Annotated[list[int] | None, typer.Option(
            help="Organisation id always in the team; the first one leads (repeatable).")] = None,
        size: Annotated[int | None, typer.Option(help="Team size including fixed members "
                                                      "(default: the instrument's default).")] = None,
        exclude: ExcludeOpt = None,
        swap: Annotated[list[int] | None, typer.Option(
            help="Replace this member by the next-best candidate and re-check (repeatable, in order).")] = None,
        support: Annotated[bool, typer.Option(
            "--support", help="Add one service firm (project management, consulting, communication) as "
                              "project support; it never leads.")] = False,
        as_json: JsonOpt = False) -> None:
    """Propose a team that covers the call's aspects and passes the instrument's rules."""
    from matcher.consortium import build_consortium
    from matcher.errors import NotFound
    from matcher.rules import load_instrument

    if not text.is_file():
        raise NotFound(f"{text} does not exist")
    ins = load_instrument(instrument)
    c = build_consortium(_open(), text.read_text(encoding="utf-8"), ins, fixed or [], size, exclude or [],
                         swaps=swap or [], support=support)
    if as_json:
        typer.echo(json.dumps(c.to_dict(), ensure_ascii=False))
        return
    table = Table("id", "organisation", "kind", "country", "role")
    for m in c.members:
        table.add_row(str(m.organisation.id), m.organisation.name, m.organisation.kind, m.organisation.country, m.role)
    out.print(table)
    for r in c.rules:
        out.print(f"{'[green]pass[/green]' if r.passed else '[red]FAIL[/red]'} {r.rule}: {r.message}", highlight=False)
    names = {m.organisation.id: m.organisation.name for m in c.members}
    for role, by in zip(c.roles, c.filled_by):
        filled = f"filled by {names[by]}" if by is not None else role.to_dict(None, len(c.members))["why"]
        out.print(f"role {role.name} ({role.label}): {filled}", highlight=False)
    out.print(f"uncovered aspects: {len(c.uncovered)}  eligible: {c.eligible}")


@app.command("eval-consortium")
def eval_consortium_cmd(
        catalogue: Annotated[Path, typer.Option(help="CORDIS folder used as the catalogue.")],
        split_date: Annotated[str, typer.Option(help="Query projects start on or after this date (YYYY-MM-DD).")],
        min_partners: Annotated[int, typer.Option(min=1, help="Minimum partners of a query project.")] = 3,
        out_dir: Annotated[Path | None, typer.Option("--out", help="Write consortium.json and consortium.md here.")
                           ] = None,
        as_json: JsonOpt = False) -> None:
    """Build consortia for real query projects (coordinator fixed) and compare with the plain top-k."""
    from matcher.evaluation import consortium_eval, evaluate
    from matcher.ingest.cordis import CordisData
    from matcher.retrieval.embed import load_encoder
    from matcher.storage.store import Store

    settings = get_settings()
    split = evaluate.Split.make(CordisData.read(catalogue), None, split_date)
    cache = Store(f"sqlite:///{(settings.home / 'cache' / 'vectors.db').resolve()}")
    with progress_bar() as start:
        ev = evaluate.prepare(split, load_encoder(settings.model), cache, min_partners, progress=start)
        result = consortium_eval.evaluate_consortia(ev, split, cache, progress=start)
    result.update({"catalogue": str(catalogue), "split_date": split_date, "model": settings.model})
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "consortium.json").write_text(json.dumps(result, indent=1, default=float))
        (out_dir / "consortium.md").write_text(consortium_eval.markdown(result))
    summary = {k: v for k, v in result.items() if k != "per_query"}
    typer.echo(json.dumps(summary, default=float) if as_json else consortium_eval.markdown(result))
