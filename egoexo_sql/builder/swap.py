"""The last step of a build, and what surrounds the whole build: the staging folder,
the folder lock, the atomic exchange with the previous catalog, and the repair of what
killed builds left.

A build writes everything into ``<catalog>.staging-<pid>`` next to the catalog. The
staging folder then replaces the catalog in one atomic ``renameat2(RENAME_EXCHANGE)``
where the OS offers it (else: catalog renamed aside to ``<catalog>.old-<pid>``, staging
renamed in, old one deleted; a build killed between the two renames is repaired by the
next build). Generations that readers still hold are hard-linked into the new catalog
first (:mod:`egoexo_sql.generations`). Two builds never swap at once: both hold an
exclusive ``flock`` on the catalog's parent folder while they swap or clean up.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import generations


def staging_folder(catalog: Path) -> Path:
    """Where this process builds the next version of ``catalog``."""
    return catalog.parent / f"{catalog.name}.staging-{os.getpid()}"


def repair_leftovers(catalog: Path) -> None:
    """Before a build: make the catalog's parent folder and, under the folder lock,
    repair what killed builds left (:func:`cleanup_leftovers`)."""
    catalog.parent.mkdir(parents=True, exist_ok=True)
    with dir_lock(catalog.parent):
        cleanup_leftovers(catalog)


def make_staging(catalog: Path) -> Path:
    """An empty staging folder with ``data/`` (see :func:`staging_folder`)."""
    staging = staging_folder(catalog)
    if staging.exists():  # our own pid's leftover (pid reuse)
        shutil.rmtree(staging)
    staging.mkdir()
    (staging / "data").mkdir()
    return staging


def swap_in_keeping_readers(staging: Path, catalog: Path) -> None:
    """Under the folder lock: keep the generations readers hold, then swap in ``staging``."""
    with dir_lock(catalog.parent):
        held = generations.carry_over(catalog, staging)
        try:
            swap_in(staging, catalog)
        finally:
            generations.release(held)


def swap_in(staging: Path, catalog: Path) -> None:
    """Replace ``catalog`` with ``staging`` so that readers see one or the other, never a mix."""
    if not catalog.exists() and not catalog.is_symlink():
        os.rename(staging, catalog)
        return
    if _rename_exchange(staging, catalog):
        shutil.rmtree(staging, ignore_errors=True)  # now the previous catalog
        return
    aside = catalog.parent / f"{catalog.name}.old-{os.getpid()}"
    os.rename(catalog, aside)
    try:
        os.rename(staging, catalog)
    except BaseException:
        os.rename(aside, catalog)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False when not supported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


@contextmanager
def dir_lock(directory: Path) -> Iterator[None]:
    """An exclusive flock on a folder (POSIX), so two builds never swap at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


#: the copy of catalog.duckdb that :func:`egoexo_sql.builder.views.point_views_at`
#: rewrites before renaming it in
REPOINT_TMP = ".catalog.duckdb.repoint"


def cleanup_leftovers(catalog: Path) -> None:
    """Repair what killed builds left: restore an aside catalog, delete dead staging
    folders and a half-rewritten copy of catalog.duckdb."""
    parent = catalog.parent
    (catalog / REPOINT_TMP).unlink(missing_ok=True)
    for kind in ("old", "staging"):
        prefix = f"{catalog.name}.{kind}-"
        for p in sorted(parent.glob(f"{_glob_escape(catalog.name)}.{kind}-*")):
            pid_text = p.name[len(prefix) :]
            if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
                continue
            if kind == "old" and not catalog.exists() and (p / "build.json").is_file():
                os.rename(p, catalog)  # killed between the two renames of a swap
            else:
                shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _glob_escape(s: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in s)
