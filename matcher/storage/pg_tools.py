"""PostgreSQL's client programs (``pg_dump``, ``pg_restore``, ``psql``): where they are, how they connect,
and their errors as one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from matcher.errors import MatcherError

PG_BIN = Path("/usr/lib/postgresql")  # Debian's versioned folders of the server and client programs


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program: on PATH, else beside ``pg_ctl``, else in the newest
    ``/usr/lib/postgresql/<version>/bin``."""
    found = shutil.which(name)
    if found:
        return found
    pg_ctl = shutil.which("pg_ctl")
    folders = [Path(pg_ctl).resolve().parent] if pg_ctl else []
    folders += sorted(PG_BIN.glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                      reverse=True)
    for folder in folders:
        if (folder / name).is_file():
            return str(folder / name)
    raise MatcherError(f"{name} not found: install the PostgreSQL client programs (the server's version or "
                       f"newer) or put them on PATH")


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The connection URI for PostgreSQL's programs, and their environment: the password goes in
    ``PGPASSWORD``, never on a command line that every user of the machine can read.

    >>> dsn, env = libpq("postgresql+psycopg://matcher:s3cret@db:5432/matcher?sslmode=require")
    >>> dsn, env["PGPASSWORD"]
    ('postgresql://matcher@db:5432/matcher?sslmode=require', 's3cret')
    """
    u = make_url(url)
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    bare = URL.create("postgresql", u.username, None, u.host, u.port, u.database, u.query)
    return bare.render_as_string(hide_password=False), env


def run(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL program; its output, or its error as one line."""
    res = subprocess.run(args, capture_output=True, env=env)
    if res.returncode != 0:
        raise MatcherError(f"{Path(args[0]).name} failed: {last_line(res.stderr, res.returncode)}")
    return res.stdout.decode("utf-8", "replace")


def last_line(err: bytes, status: int) -> str:
    """The last line a program wrote to stderr (its error; the lines before are context), else its status."""
    lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else f"stopped by signal {-status}" if status < 0 else f"exit status {status}"
