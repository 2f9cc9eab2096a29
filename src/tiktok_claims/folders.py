"""A run's output folder: one run's complete set of files, or nothing new.

:class:`OutputFolder` is what ``run`` and ``report --from`` write through:

* :meth:`OutputFolder.check`, before any work, refuses a folder that cannot be written
  (a file in its place or above it, no permission), or that holds, where the run would
  write, anything no tiktok-claims run wrote: a user's own ``report.html``, a symbolic
  link or a folder of an output's name, or any file in a folder the run owns whole
  (``figures/``: its file names depend on the analysis, so none is known before the work);
* entering the ``with`` block takes the folder's lock (``.tiktok-claims.lock``, an OS
  lock released when the process ends, however it ends), so a second run into the same
  folder is refused at its start instead of interleaving its files with the first's;
* the run writes into :attr:`OutputFolder.staging`, a private folder inside the
  output folder; :meth:`OutputFolder.commit` checks again that every file it will
  replace is a previous run's plain file, writes its plan (``.tiktok-claims-commit.json``
  in the staging folder), moves the files into place (``os.replace``, a rename on one
  file system), removes the files of the previous run that this one did not write, and
  writes the new manifest (``.tiktok-claims-manifest.json``) last. SIGINT and SIGTERM
  wait until the commit is over (:func:`signals_held`): Ctrl-C during the moves ends the
  command with the new set in place, before them with the old one;
* leaving the block without a commit (an error, Ctrl-C, SIGTERM) removes the staging
  folder, and the output folder itself if this run created it: the folder is as it was.

A manifest is the tool's word on which files are its own, never enough to remove a file:
a file is removed (or replaced) only if it is a plain file of a name the command writes
(its ``names``, the ``replaced`` names of :meth:`OutputFolder.commit`, or a figure
``figures/<name>.png``); other names a manifest lists are left alone, with a note.

A run killed outright (SIGKILL, power loss) cannot defer its death. Killed before its
plan was written, it leaves its staging folder, which the next run that takes the lock
removes; killed while moving, it leaves the folder mixing two runs until the next run
into it, which completes the move from the plan (and says so in :attr:`OutputFolder.notes`)
before anything else. Renames are not flushed to disk: after a power loss the file system
decides what the folder holds. Files that are not the tool's are never removed.

A single output file (``sample --out``) is written by :func:`written_whole`: into a
private folder beside it, created exclusively, then moved onto its name. A command that
writes large temporary files beside its outputs (``score``) makes its private folder with
:func:`owned_private_folder`, which marks it as the process's by a locked file, so that
:func:`remove_abandoned` can remove, later, the folder of a process killed outright.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
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
PLAN = ".tiktok-claims-commit.json"
STAGING_PREFIX = ".tiktok-claims-staging-"
PRIVATE_PREFIX = ".tiktok-claims-"
TOOL = "tiktok-claims"
OWNER = "owner.lock"
OWNER_TAG = "tiktok-claims private folder of"
FIGURES = "figures"
FIGURE_FILE = re.compile(r"figures/[a-z0-9_]{1,64}\.png")
"""A figure a run writes (:func:`tiktok_claims.reporting.render.render_figure` names them so)."""
HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name))


class OutputFolder:
    """The output folder ``out`` of one command, written as a whole.

    Parameters
    ----------
    out : Path
        The folder the user named.
    names : iterable of str
        The files (relative, ``/``-separated) this command may write; an existing file of
        one of these names that no tiktok-claims run wrote is refused by :meth:`check`.
    owned : iterable of str
        Sub-folders this command writes whole (``"figures"``): every file in them must be
        a previous run's, since which names the command writes there is known only after the work.

    Attributes
    ----------
    notes : list of str
        One-line notes for the user: a previous run's move completed, manifest entries ignored.
    """

    def __init__(self, out: str | Path, names=(), *, owned: Iterable[str] = ()):
        self.out = Path(out)
        self.names = frozenset(names)
        self.owned = tuple(owned)
        self.staging: Path | None = None
        self.notes: list[str] = []
        self._created: Path | None = None
        self._lock = None
        self._moving = False
        self._committed = False

    # ------------------------------------------------------------------ before the work
    def check(self) -> OutputFolder:
        """Refuse, before any work, a folder this command could not write as a whole."""
        self._check_writable()
        self._check_replaced()
        return self

    def _check_writable(self) -> None:
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out}: is a file; expected a folder (existing or new) for the run's outputs.")
        problem = unwritable(out)
        if problem:
            raise OutputError(f"--out {out}: cannot be written: {problem}.")

    def _check_replaced(self) -> None:
        """Refuse anything the run would replace or remove that is not a previous run's plain file."""
        if not self.out.is_dir():
            return
        found = [self._foreign(name) for name in sorted(self.names)]
        for folder in self.owned:
            path = self.out / folder
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                found.append(self._foreign(folder))
            elif path.is_dir():
                inside = (p for p in sorted(path.rglob("*")) if p.is_symlink() or not p.is_dir())
                found += [self._foreign(p.relative_to(self.out).as_posix()) for p in inside]
        self._refuse([problem for problem in found if problem])

    def _foreign(self, name: str) -> str | None:
        """``name`` as the refusal shows it when the folder holds it and it is not a previous run's plain file."""
        path = self.out / name
        if path.is_symlink():
            return f"{name} (a symbolic link)"
        if not path.exists():
            return None
        if not path.is_file():
            return f"{name} (a folder or special file)"
        return None if self._ours(name) else name

    def _refuse(self, foreign: list[str]) -> None:
        if foreign:
            owned = "".join(f" and everything in its {folder}/ folder" for folder in self.owned)
            raise OutputError(
                f"--out {self.out}: holds {', '.join(foreign[:5])}{' and more' if len(foreign) > 5 else ''}, which no "
                f"tiktok-claims run wrote; this run would replace {'it' if len(foreign) == 1 else 'them'} (it replaces "
                f"the files of its own names{owned}). Choose another --out folder or move them."
            )

    def _ours(self, name: str) -> bool:
        """Whether ``name`` in the folder was written by a tiktok-claims run.

        Its manifest says so, or an older run's folder; or the plan of a run killed while
        moving its files, whose move the next run completes (:meth:`_finish_killed_commits`).
        """
        if name in (self.previous() or set()) or name in _legacy_files(self.out, self.names):
            return True
        plans = (_read_plan(stale) for stale in self.out.glob(f"{STAGING_PREFIX}*"))
        return self._writes(name) and any(plan is not None and name in plan["files"] for plan in plans)

    def _writes(self, name: str, replaced=()) -> bool:
        """Whether this command writes files of this name (so a previous run's file of it may be replaced or removed)."""
        return name in self.names or name in replaced or FIGURE_FILE.fullmatch(name) is not None

    def listed(self) -> list[str] | None:
        """Every file the previous run's manifest lists inside the folder, or ``None`` without a readable manifest."""
        try:
            manifest = json.loads((self.out / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        files = manifest.get("files") if isinstance(manifest, dict) and manifest.get("tool") == TOOL else None
        if not isinstance(files, list):
            return None
        return [name for name in files if isinstance(name, str) and _inside(name)]

    def previous(self, replaced=()) -> set[str] | None:
        """The files of the previous run's manifest this command writes (and may so replace or remove), or ``None``."""
        listed = self.listed()
        return None if listed is None else {name for name in listed if self._writes(name, replaced)}

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
                lock_file(self._lock)
            except OSError:
                raise OutputError(
                    f"--out {self.out}: another tiktok-claims command is writing into this folder; wait for it to "
                    "finish or choose another --out folder."
                ) from None
            self._finish_killed_commits()
            self._check_replaced()
            ignored = sorted(set(self.listed() or ()) - (self.previous() or set()))
            if ignored:
                self.notes.append(
                    f"{self.out / MANIFEST} lists {', '.join(ignored[:5])}{' and more' if len(ignored) > 5 else ''}, "
                    f"which this command never writes; {'it is' if len(ignored) == 1 else 'they are'} left as found"
                )
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _finish_killed_commits(self) -> None:
        """Complete the move of a run killed while moving its files (its plan says which), then remove its leftovers.

        Called with the lock held: every staging folder here is a dead run's.
        """
        for stale in sorted(self.out.glob(f"{STAGING_PREFIX}*")):
            plan = _read_plan(stale)
            if plan is not None:  # only what this command writes, or a new name, is moved; only what it writes removed
                plan["files"] = [name for name in plan["files"] if self._writes(name) or not os.path.lexists(self.out / name)]
                plan["remove"] = [name for name in plan["remove"] if self._writes(name)]
                self._apply(stale, plan)
                self.notes.append(
                    f"a previous run into {self.out} was stopped while moving its files into place; "
                    "this run completed that move first"
                )
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            else:  # an unfinished manifest's temporary file
                stale.unlink(missing_ok=True)

    def commit(self, *, keep_previous: bool = False, replaced=()) -> list[str]:
        """Move every staged file into place; remove the previous run's other files unless ``keep_previous``.

        ``replaced`` names the files this command renders anew: a previous file of one of
        these names is removed even with ``keep_previous`` when this command did not write
        it (a re-render that could not print the PDF leaves no earlier PDF behind).
        Returns the files of the folder's new manifest.
        """
        staged = sorted(p.relative_to(self.staging).as_posix() for p in self.staging.rglob("*") if p.is_file())
        self._refuse([problem for problem in map(self._in_the_way, staged) if problem])
        listed = set(self.listed() or ())
        kept = set(staged) | (listed - set(replaced) if keep_previous else set())
        plan = {"tool": TOOL, "files": staged, "remove": sorted((self.previous(replaced) or set()) - kept), "manifest": sorted(kept)}
        with signals_held():
            _write_json(self.staging / PLAN, plan)
            self._moving = True
            self._apply(self.staging, plan)
            self._committed = True
        return sorted(kept)

    def _in_the_way(self, name: str) -> str | None:
        """What, in the folder, keeps a staged file ``name`` from being moved into place (seen at the commit)."""
        for folder in reversed(PurePosixPath(name).parents[:-1]):
            path = self.out / folder
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                return self._foreign(folder.as_posix())
        return self._foreign(name)

    def _apply(self, staging: Path, plan: dict) -> None:
        """Move the plan's staged files into place, remove its previous files, write its manifest.

        Run again on a plan whose moves were cut short, it moves what is still staged.
        """
        try:
            for name in plan["files"]:
                source, target = staging / name, self.out / name
                if source.is_file() and not source.is_symlink():  # else moved before a kill
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _move(source, target)
            for name in plan["remove"]:
                path = self.out / name
                if path.is_file() and not path.is_symlink():
                    path.unlink()
            _write_manifest(self.out, plan["manifest"])
        except OSError as exc:
            raise OutputError(
                f"--out {self.out}: moving the run's files into place failed ({exc.strerror}: {exc.filename}); "
                "the next run into this folder completes the move once the cause is fixed."
            ) from None

    def __exit__(self, *exc) -> None:
        if self.staging is not None:
            if not (self._moving and not self._committed):  # a cut-short move stays for the next run to complete
                shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        if self._lock is not None:
            self._lock.close()  # releases the OS lock
            self._lock = None
        if not self._committed and self._created is not None:
            (self.out / LOCK).unlink(missing_ok=True)
            _remove_empty(self.out, self._created)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM (Ctrl-C, ``kill``) received in the block take effect when it ends, as they would have.

    In the main thread only (where Python runs signal handlers; elsewhere the block
    holds nothing). While the block runs, each signal's handler just records it; at the
    end the handlers are restored and each signal received is raised again. A signal
    mask (``signal.pthread_sigmask``) would not do: it holds a signal back from the
    thread that sets it only, and the OS gives a process's signal to any thread that
    does not block it (the run's worker threads), whose handler would then interrupt
    the main thread anyway. Handlers work the same on every OS (Windows has no mask).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    handlers = {number: signal.signal(number, lambda number, frame: received.append(number)) for number in HELD_SIGNALS}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        for number in dict.fromkeys(received):
            signal.raise_signal(number)


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


def lock_file(handle, *, wait: bool = False) -> None:
    """Lock the open file ``handle`` for this process until it is closed (or the process ends, however it ends).

    Raises ``OSError`` if another holds it, unless ``wait`` (then it waits for it).
    """
    if fcntl is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    else:  # pragma: no cover - Windows
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)


@contextmanager
def owned_private_folder(parent: Path) -> Iterator[Path]:
    """A new private folder in ``parent`` (``tempfile.mkdtemp``), marked as this process's while the block runs.

    Its marker file (:data:`OWNER`) stays locked by this process until the block ends,
    however the process ends; :func:`remove_abandoned` removes the folder of a process
    killed outright. The folder is removed with everything in it when the block ends.
    """
    folder = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX, dir=parent))
    try:
        with open(folder / OWNER, "xb") as marker:  # a new file: nobody else can hold it yet but a cleaner peeking
            lock_file(marker, wait=True)
            marker.write(f"{OWNER_TAG} pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            marker.flush()
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove the folders of :func:`owned_private_folder` in ``parent`` whose process has ended; return them.

    A folder is removed only when it holds a marker file this tool wrote (its text says
    so) that no process holds locked: its owner was killed before it could remove it.
    Nothing else is touched, and the folder of a process still running keeps its lock.
    """
    removed = []
    for folder in sorted(parent.glob(f"{PRIVATE_PREFIX}*")):
        marker = folder / OWNER
        if folder.is_symlink() or marker.is_symlink() or not marker.is_file():
            continue
        try:
            with open(marker, "rb") as handle:
                lock_file(handle)
                abandoned = handle.read(len(OWNER_TAG)) == OWNER_TAG.encode()  # empty: its owner is starting
        except OSError:  # held: its owner is running
            continue
        if abandoned:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _inside(name: str) -> bool:
    """A relative path that stays inside the folder (no absolute path, no ``..``)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name and ":" not in name


def _legacy_files(out: Path, names: frozenset[str]) -> frozenset[str]:
    """The files of a run from before manifests (its metrics.json says so): ``names`` and the figures it lists."""
    try:
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    if not (isinstance(metrics, dict) and isinstance(metrics.get("tool"), dict) and metrics["tool"].get("name") == TOOL):
        return frozenset()
    figures = metrics.get("figures") if isinstance(metrics.get("figures"), list) else []
    files = {figure.get("file") for figure in figures if isinstance(figure, dict)}
    return names | {name for name in files if isinstance(name, str) and FIGURE_FILE.fullmatch(name)}


def _read_plan(staging: Path) -> dict | None:
    """The plan a killed run's commit wrote in its staging folder, or ``None`` (killed before its commit)."""
    try:
        plan = json.loads((staging / PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(plan, dict) or plan.get("tool") != TOOL:
        return None
    lists = {key: plan.get(key) for key in ("files", "remove", "manifest")}
    if not all(isinstance(names, list) and all(isinstance(name, str) and _inside(name) for name in names) for names in lists.values()):
        return None
    return lists


def _move(source: Path, target: Path) -> None:
    os.replace(source, target)


def _write_json(path: Path, document: dict) -> None:
    """``document`` written to ``path`` whole: to a new file beside it, then renamed."""
    handle, temporary = tempfile.mkstemp(prefix=STAGING_PREFIX, dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=1)
    os.replace(temporary, path)


def _write_manifest(out: Path, files: list[str]) -> None:
    _write_json(out / MANIFEST, {"tool": TOOL, "files": files})


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
