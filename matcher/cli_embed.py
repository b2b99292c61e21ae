"""``matcher embed``: a bulk embedding worker. Start one per core or per host after a large import."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from matcher.config import get_settings
from matcher.retrieval.bulk import BATCH

err = Console(stderr=True)
REFRESH = 5.0  # seconds between reads of everyone's progress for the bar


@contextmanager
def _progress_bar(remaining: Callable[[], int], label: str) -> Iterator[Callable[[int], None] | None]:
    """At a terminal, a bar over the texts left when this worker started, with an ETA. It advances with this
    worker's batches and every few seconds moves to what all workers together have done; quiet otherwise."""
    if not err.is_terminal:
        yield None
        return
    total = remaining()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err) as bar:
        task = bar.add_task(label, total=total)
        last = time.monotonic()

        def advance(n: int) -> None:
            nonlocal last
            bar.advance(task, n)
            if time.monotonic() - last > REFRESH:
                bar.update(task, completed=max(0, total - remaining()))
                last = time.monotonic()
        yield advance


def embed_cmd(
    batch: Annotated[int, typer.Option("--batch", min=1, max=10_000, help=(
        "Texts per claim: this worker embeds and stores this many at a time."))] = BATCH,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help=(
        "When nothing is free but other workers hold claims: wait for them (and take a dead worker's batch "
        "when its lease runs out), so that every text has a vector at exit; or stop at once."))] = True,
    as_json: Annotated[bool, typer.Option("--json", help=(
        'Print {"embedded": N, "remaining": M, "model": ID} when done.'))] = False,
) -> None:
    """Embed the stored texts that have no vector for the configured model, until none is left to claim.

    On PostgreSQL any number of these workers, on one host or many, share the work: each claims a batch
    for MATCHER_EMBED_LEASE seconds (default 60, renewed while it works), so no text is embedded twice,
    and a dead worker's batch is claimed again when its lease runs out. On SQLite one worker embeds
    everything. A progress bar with the time left is shown on stderr at a terminal. "embedded" counts
    this worker's texts, "remaining" the texts still without a vector when it stopped.
    """
    from matcher.retrieval.bulk import embed_pending
    from matcher.retrieval.embed import load_encoder
    from matcher.service import open_store
    from matcher.storage.claims import EmbedClaims

    settings = get_settings()
    store = open_store(settings)
    encoder = load_encoder(settings.model)
    claims = EmbedClaims(store, encoder.model_id)
    with _progress_bar(lambda: claims.progress().remaining, f"embedding with {encoder.model_id}") as advance:
        report = embed_pending(store, encoder, batch=batch, lease=settings.embed_lease, wait=wait,
                               on_batch=advance)
    store.close()
    body = report.to_dict()
    typer.echo(json.dumps(body) if as_json else "  ".join(f"{k}: {v}" for k, v in body.items()))
