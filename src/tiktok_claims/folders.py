"""A run's output folder: one run's complete set of files, or nothing new.

:class:`OutputFolder` is what ``run`` and ``report --from`` write through:

* :meth:`OutputFolder.check`, before any work, refuses a folder that cannot be written
  (a file in its place or above it, no permission) or that holds a file of a name the
  run writes which no tiktok-claims run wrote (a user's own ``report.html``);
* entering the ``with`` block takes the folder's lock (``.tiktok-claims.lock``, an OS
  lock released when the process ends, however it ends), so a second run into the same
  folder is refused at its start instead of interleaving its files with the first's;
* the run writes into :attr:`OutputFolder.staging`, a private folder inside the
  output folder; :meth:`OutputFolder.commit` moves its files into place (``os.replace``,
  a rename on one file system), removes the files of the previous run that this one
  did not write (those listed in its manifest, ``.tiktok-claims-manifest.json``, and
  only those), and writes the new manifest last;
* leaving the block without a commit (an error, Ctrl-C, SIGTERM) removes the staging
  folder, and the output folder itself if this run created it: the folder is as it was.

Staging folders of runs that were killed outright (SIGKILL, power loss) are removed by
the next run that takes the lock. Files that are not the tool's are never removed.

A single output file (``sample --out``) is written by :func:`written_whole`: into a
private folder beside it, created exclusively, then moved onto its name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from .errors import OutputError

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK = ".tiktok-claims.lock"
MANIFEST = ".tiktok-claims-manifest.json"
STAGING_PREFIX = ".tiktok-claims-staging-"
PRIVATE_PREFIX = ".tiktok-claims-"
TOOL = "tiktok-claims"


class OutputFolder:
    """The output folder ``out`` of one command, written as a whole.

    Parameters
    ----------
    out : Path
        The folder the user named.
    names : iterable of str
        The files (relative, ``/``-separated) this command may write; an existing file of
        one of these names that no tiktok-claims run wrote is refused by :meth:`check`.
    """

    def __init__(self, out: str | Path, names=()):
        self.out = Path(out)
        self.names = frozenset(names)
        self.staging: Path | None = None
        self._created: Path | None = None
        self._lock = None
        self._committed = False

    # ------------------------------------------------------------------ before the work
    def check(self) -> OutputFolder:
        """Refuse, before any work, a folder this command could not write as a whole."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out}: is a file; expected a folder (existing or new) for the run's outputs.")
        problem = unwritable(out)
        if problem:
            raise OutputError(f"--out {out}: cannot be written: {problem}.")
        if out.is_dir():
            foreign = sorted(name for name in self.names if (out / name).exists() and not self._ours(name))
            if foreign:
                raise OutputError(
                    f"--out {out}: holds {', '.join(foreign[:5])}{' and more' if len(foreign) > 5 else ''}, which no "
                    f"tiktok-claims run wrote; this run would replace {'it' if len(foreign) == 1 else 'them'}. Choose another --out folder or move them."
                )
        return self

    def _ours(self, name: str) -> bool:
        """Whether ``name`` in the folder was written by a tiktok-claims run (its manifest, or an older run's folder)."""
        listed = self.previous()
        return (listed is not None and name in listed) or _legacy_run(self.out)

    def previous(self) -> set[str] | None:
        """The files the previous run's manifest lists, or ``None`` without a readable manifest."""
        try:
            manifest = json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        files = manifest.get("files") if isinstance(manifest, dict) and manifest.get("tool") == TOOL else None
        if not isinstance(files, list):
            return None
        return {name for name in files if isinstance(name, str) and _inside(name)}

    # ------------------------------------------------------------------ the transaction
    def __enter__(self) -> OutputFolder:
        self.check()
        if not self.out.exists():
            missing = next(p for p in (self.out, *self.out.parents) if p.parent.exists())
            self.out.mkdir(parents=True)
            self._created = missing
        try:
            self._lock = open(self.out / LOCK, "a+b")  # noqa: SIM115 (held until __exit__)
            try:
                _lock(self._lock)
            except OSError:
                raise OutputError(
                    f"--out {self.out}: another tiktok-claims command is writing into this folder; wait for it to "
                    "finish or choose another --out folder."
                ) from None
            for stale in self.out.glob(f"{STAGING_PREFIX}*"):
                shutil.rmtree(stale, ignore_errors=True)
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def commit(self, *, keep_previous: bool = False, replaced=()) -> list[str]:
        """Move every staged file into place; remove the previous run's other files unless ``keep_previous``.

        ``replaced`` names the files this command renders anew: a previous file of one of
        these names is removed even with ``keep_previous`` when this command did not write
        it (a re-render that could not print the PDF leaves no earlier PDF behind).
        Returns the files of the folder's new manifest.
        """
        staged = sorted(p.relative_to(self.staging).as_posix() for p in self.staging.rglob("*") if p.is_file())
        previous = self.previous() or set()
        for name in staged:
            target = self.out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / name, target)
        kept = set(staged) | (previous - set(replaced) if keep_previous else set())
        for name in sorted(previous - kept):
            path = self.out / name
            if path.is_file() and not path.is_symlink():
                path.unlink()
        _write_manifest(self.out, sorted(kept))
        self._committed = True
        return sorted(kept)

    def __exit__(self, *exc) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        if self._lock is not None:
            self._lock.close()  # releases the OS lock
            self._lock = None
        if not self._committed and self._created is not None:
            (self.out / LOCK).unlink(missing_ok=True)
            _remove_empty(self.out, self._created)


def unwritable(folder: Path) -> str | None:
    """Why nothing could be written in ``folder`` (made first if missing), or ``None``.

    Its nearest existing ancestor must be a folder this user may write in.
    """
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the folder {existing} is read-only for this user"
    return None


def _lock(handle) -> None:
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover - Windows
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)


def _inside(name: str) -> bool:
    """A relative path that stays inside the folder (no absolute path, no ``..``)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name and ":" not in name


def _legacy_run(out: Path) -> bool:
    """A folder written by a tiktok-claims run from before manifests (its metrics.json says so)."""
    try:
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(metrics, dict) and isinstance(metrics.get("tool"), dict) and metrics["tool"].get("name") == TOOL


def _write_manifest(out: Path, files: list[str]) -> None:
    handle, temporary = tempfile.mkstemp(prefix=STAGING_PREFIX, dir=out)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump({"tool": TOOL, "files": files}, stream, indent=1)
    os.replace(temporary, out / MANIFEST)


def _remove_empty(out: Path, top: Path) -> None:
    """Remove ``out`` and its parents up to ``top`` (the folders this run created), if empty."""
    for folder in (out, *out.parents):
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == top:
            return


@contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A temporary path to write ``target`` to; moved onto ``target`` when the block ends normally.

    The temporary file lies in a private folder created beside ``target`` (so that the
    move is a rename on one file system, and its name can be no existing file); the
    folder is removed however the block ends. An interrupted write leaves ``target`` as
    it was, and no other file is ever written or removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX, dir=target.parent))
    try:
        temporary = private / target.name
        yield temporary
        os.replace(temporary, target)
    finally:
        shutil.rmtree(private, ignore_errors=True)
