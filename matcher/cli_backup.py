"""``matcher backup`` and ``matcher restore``: the whole store in one file, and back (docs/DEPLOY.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from matcher.cli_admin import JsonOpt
from matcher.config import get_settings
from matcher.errors import Conflict

NEXT_STEP = ("next: restart every matcher host (matcher serve) now; at its start each one rebuilds its index "
             "from the restored vectors")


def backup_cmd(file: Annotated[Path, typer.Argument(help="The backup file to write: a SQLite database, or for "
                                                         "PostgreSQL a pg_dump -Fc archive.")],
               force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
               as_json: JsonOpt = False) -> None:
    """Copy the whole database into FILE, consistently, while matcher serve runs (SQLite: its online
    backup API; PostgreSQL: pg_dump -Fc). JSON: backup, bytes, store, change (the database change number
    the file holds)."""
    from matcher.storage.backup import backup

    if file.exists() and not force:
        raise Conflict(f"{file} exists: give another name, or --force to overwrite it")
    done = backup(get_settings().db_url, file)
    if as_json:
        typer.echo(json.dumps({"backup": str(file), "bytes": done.size, "store": done.store, "change": done.change}))
        return
    typer.echo(f"backed up the {done.store} database at change {done.change} to {file} ({done.size:,} bytes)")


def restore_cmd(file: Annotated[Path, typer.Argument(help="A file written by matcher backup.")],
                yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
                as_json: JsonOpt = False) -> None:
    """Replace ALL data of the database with a backup (it asks first, unless --yes).

    The file is checked before anything changes (a matcher database, not corrupt, a schema this version
    knows; an older schema is migrated as a start would). SQLite is copied in with its backup API, so a
    running server never reads a half-written file; PostgreSQL runs pg_restore --clean --if-exists in one
    transaction. Restart the hosts afterwards: each rebuilds its index from the restored vectors.
    """
    from matcher.storage.backup import checked, restore

    with checked(get_settings().db_url, file) as plan:
        if not yes:
            typer.confirm(f"Replace all data in {plan.target} with {file} (schema {plan.schema})?", abort=True)
        done = restore(plan)
    if as_json:
        typer.echo(json.dumps({"restored": str(file), "store": done.store, "change": done.change,
                               "schema": done.schema, "schema_in_file": done.schema_in_file}))
    else:
        migrated = f", migrated from {done.schema_in_file}" if done.schema_in_file != done.schema else ""
        typer.echo(f"restored {file} into the {done.store} database: change {done.change}, "
                   f"schema {done.schema}{migrated}")
    typer.echo(NEXT_STEP, err=True)
