"""Self-describing folders (an index, a ranker) written atomically.

A folder is written into a temporary sibling, every file is fsynced, then the sibling
replaces the old folder by renames, so a reader sees the old folder or the new one,
never half of one, and a crash leaves at worst a stray ``.tmp-*`` sibling.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(folder: Path) -> Iterator[Path]:
    """Yield an empty temporary folder to write into; on success it becomes ``folder``.

    >>> import tempfile; root = Path(tempfile.mkdtemp())
    >>> with atomic_folder(root / "x") as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (root / "x" / "a.txt").read_text()
    'hi'
    """
    folder = Path(folder)
    tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        old = folder.with_name(folder.name + f".old-{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
