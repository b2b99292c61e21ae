"""The administrator's commands: ``matcher keys`` (create, list, revoke), ``matcher audit``, and what
``matcher serve`` does on the operator's own machine (the local admin key, a one-time sign-in link).

Everything run here acts as the local admin (:data:`matcher.access.LOCAL_ADMIN`), which is how the
audit log names it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from matcher.access import LOCAL_ADMIN
from matcher.config import Settings, get_settings
from matcher.errors import InvalidInput, MatcherError
from matcher.storage.keys import MAX_EXPIRY_DAYS, KeyInfo

keys_app = typer.Typer(help="Manage API keys: create, list, revoke.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()
LOOPBACK = ("127.0.0.1", "localhost", "::1")
ADMIN_KEY_LABEL = "local admin (first start)"

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]


def _store():  # type: ignore[no-untyped-def]
    from matcher.service import open_store

    return open_store(get_settings())


def _when(stamp: dt.datetime | None) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M") if stamp else "—"


@keys_app.command("create")
def keys_create_cmd(role: Annotated[str, typer.Option(help="admin, staff, member or viewer.")],
                    org: Annotated[int | None, typer.Option(help="Organisation id a member key belongs to.")] = None,
                    label: Annotated[str, typer.Option(help="A note on who holds the key.")] = "",
                    expires: Annotated[int | None, typer.Option(
                        min=1, max=MAX_EXPIRY_DAYS, help="Days until the key stops working (default: never).")
                                       ] = None) -> None:
    """Create an API key; the key is printed alone on the last line, once (only its hash is stored)."""
    from matcher.storage.keys import issue_key

    key, info = issue_key(_store(), role, org, label, expires, LOCAL_ADMIN)
    until = f", valid until {_when(info.expires_at)} UTC" if info.expires_at else ""
    err.print(f"created {role} key #{info.id}{until}; store it now, it is not shown again:")
    typer.echo(key)


@keys_app.command("list")
def keys_list_cmd(as_json: JsonOpt = False) -> None:
    """List every key, newest first: id, role, organisation, label, created, last used, expires, status
    (never the key itself, only its first characters)."""
    from matcher.storage.keys import list_keys

    keys = list_keys(_store())
    if as_json:
        typer.echo(json.dumps({"data": [k.to_dict() for k in keys], "count": len(keys)}, ensure_ascii=False))
        return
    out.print(key_table(keys))


def key_table(keys: list[KeyInfo]) -> Table:
    table = Table("id", "prefix", "role", "org", "label", "created", "last used", "expires", "status")
    for k in keys:
        table.add_row(str(k.id), k.prefix + "…", k.role, str(k.organisation_id or "—"), k.label or "—",
                      _when(k.created_at), _when(k.last_used_at), _when(k.expires_at), k.status())
    return table


@keys_app.command("revoke")
def keys_revoke_cmd(key_id: Annotated[int, typer.Argument(help="Id of the key (see `matcher keys list`).")]) -> None:
    """Revoke a key: every request with it is refused (401) from now on, on every worker and host, and
    its browser sessions end."""
    from matcher.storage.keys import revoke_key

    info = revoke_key(_store(), key_id, LOCAL_ADMIN)
    typer.echo(f"key #{info.id} ({info.role}{', ' + info.label if info.label else ''}) revoked "
               f"at {_when(info.revoked_at)} UTC")


def parse_since(value: str) -> dt.datetime:
    """``2025-03-01`` (midnight UTC) or an ISO time (``2025-03-01T14:00``, UTC unless it says otherwise).

    >>> parse_since("2025-03-01").isoformat()
    '2025-03-01T00:00:00+00:00'
    """
    try:
        stamp = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"--since: expected a date like 2025-03-01, got {value!r}") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def audit_cmd(since: Annotated[str | None, typer.Option(help="Only changes on or after this date (YYYY-MM-DD, "
                                                              "or an ISO time; UTC).")] = None,
              limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first.")] = 100,
              action: Annotated[str | None, typer.Option(help="Only this action, e.g. key.revoke.")] = None,
              as_json: JsonOpt = False) -> None:
    """Show the audit log: every change by a person (profiles, challenges, keys, imports, verdicts),
    with who (key, role, organisation) and when."""
    from matcher.storage import audit

    start = parse_since(since) if since else None  # checked before the database is opened
    found = audit.entries(_store(), start, limit, action)
    if as_json:
        typer.echo(json.dumps({"data": [e.to_dict() for e in found], "count": len(found)}, ensure_ascii=False))
        return
    if not found:
        out.print("No changes recorded" + (f" since {since}." if since else "."))
        return
    table = Table()
    for name in ("when (UTC)", "who", "action", "target"):
        table.add_column(name, no_wrap=True)
    table.add_column("detail")
    for e in found:
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.who, e.action, e.target,
                      ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in e.detail.items()
                                if v not in (None, "", [], {})))
    out.print(table)


# ---- matcher serve on the operator's machine ------------------------------------------------------------

def ensure_admin_key(settings: Settings) -> None:
    """On first start of the embedded default, create a local admin key, print it once and keep it
    in ``$MATCHER_HOME/admin.key`` (readable by the owner only)."""
    from matcher.service import open_store
    from matcher.storage.keys import count_keys, create_key

    store = open_store(settings)
    if count_keys(store):
        return
    key = create_key(store, "admin", label=ADMIN_KEY_LABEL)
    path = settings.home / "admin.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    err.print(f"first start: created a local admin key (also in {path}):\n{key}")


def signin_link(settings: Settings, host: str, port: int) -> str | None:
    """A one-time link that signs the browser in as the local admin (the key in ``$MATCHER_HOME/admin.key``),
    or None when there is no such valid key. Only for a server on this machine's loopback address: a link
    in the log of a public server would be a way in for whoever reads the log."""
    from matcher.service import open_store
    from matcher.storage.keys import authenticate
    from matcher.storage.sessions import issue_link

    path = settings.home / "admin.key"
    if host not in LOOPBACK or not path.is_file():
        return None
    store = open_store(settings)
    try:
        principal = authenticate(store, path.read_text(encoding="utf-8").strip())
    except MatcherError:  # revoked or expired since: the printed key and the link would not work
        return None
    token = issue_link(store, principal.key_id)  # type: ignore[arg-type]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/signin/once?token={token}"
