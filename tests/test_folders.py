"""The output folder: one run's complete set of files or nothing new, never a user's file touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import tiktok_claims.folders
from tiktok_claims.errors import OutputError
from tiktok_claims.folders import FIGURES, LOCK, MANIFEST, STAGING_PREFIX, OutputFolder

NAMES = ("report.html", "metrics.json", "model.json")


def write_run(out, files: dict[str, str], **commit) -> list[str]:
    with OutputFolder(out, NAMES) as folder:
        for name, text in files.items():
            (folder.staging / name).parent.mkdir(parents=True, exist_ok=True)
            (folder.staging / name).write_text(text)
        return folder.commit(**commit)


def visible(out) -> dict[str, str]:
    """The folder's files but the tool's own bookkeeping, with their text."""
    return {
        p.relative_to(out).as_posix(): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in (LOCK, MANIFEST)
    }


def test_a_new_folder_gets_exactly_the_staged_files_and_a_manifest_listing_them(tmp_path):
    out = tmp_path / "new" / "out"
    listed = write_run(out, {"report.html": "a", "figures/roc.png": "b"})
    assert visible(out) == {"report.html": "a", "figures/roc.png": "b"}
    assert json.loads((out / MANIFEST).read_text())["files"] == listed == ["figures/roc.png", "report.html"]
    assert not list(out.glob(f"{STAGING_PREFIX}*"))


def test_a_second_run_removes_the_first_runs_other_files_and_never_a_users_file(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"report.html": "1", "figures/roc.png": "1", "model.json": "1"})
    (out / "notes.txt").write_text("mine")
    (out / "figures" / "my_sketch.png").write_text("mine")
    write_run(out, {"report.html": "2", "figures/residuals.png": "2"})
    assert visible(out) == {
        "figures/my_sketch.png": "mine", "figures/residuals.png": "2", "notes.txt": "mine", "report.html": "2",
    }


def test_keep_previous_replaces_only_what_was_staged(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"report.html": "1", "model.json": "1"})
    listed = write_run(out, {"report.html": "2"}, keep_previous=True)
    assert visible(out) == {"report.html": "2", "model.json": "1"}
    assert listed == ["model.json", "report.html"]


def test_keep_previous_removes_a_replaced_file_this_command_did_not_write(tmp_path):
    """A re-render without the PDF: the earlier PDF goes (file and manifest), the model stays."""
    out = tmp_path / "out"
    write_run(out, {"report.html": "1", "summary.pdf": "1", "model.json": "1"})
    listed = write_run(out, {"report.html": "2"}, keep_previous=True, replaced=("report.html", "summary.pdf"))
    assert visible(out) == {"report.html": "2", "model.json": "1"}
    assert listed == ["model.json", "report.html"]


def test_a_failure_before_the_commit_leaves_an_existing_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    write_run(out, {"report.html": "1"})
    before = visible(out)
    with pytest.raises(RuntimeError), OutputFolder(out, NAMES) as folder:
        (folder.staging / "report.html").write_text("half")
        raise RuntimeError("the analysis failed")
    assert visible(out) == before
    assert not list(out.glob(f"{STAGING_PREFIX}*"))


def test_a_failure_in_a_folder_this_run_created_leaves_no_folder(tmp_path):
    out = tmp_path / "a" / "b"
    with pytest.raises(KeyboardInterrupt), OutputFolder(out, NAMES):
        raise KeyboardInterrupt
    assert not (tmp_path / "a").exists()


def test_a_users_file_of_an_output_name_is_refused_before_the_work(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("my own report")
    with pytest.raises(OutputError, match=r"holds report.html, which no tiktok-claims run wrote"):
        OutputFolder(out, NAMES).check()
    assert (out / "report.html").read_text() == "my own report"


def test_a_folder_of_a_run_from_before_manifests_is_recognised_by_its_metrics(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("old")
    (out / "metrics.json").write_text(json.dumps({"tool": {"name": "tiktok-claims"}}))
    write_run(out, {"report.html": "new", "metrics.json": "{}"})
    assert visible(out)["report.html"] == "new"


@pytest.mark.parametrize(
    "below, message",
    [("", "is a file; expected a folder"), ("sub/out", "cannot be written: .*thing is a file, not a folder")],
)
def test_a_file_in_the_way_is_refused_before_the_work(tmp_path, below, message):
    (tmp_path / "thing").write_text("x")
    out = tmp_path / "thing" / below if below else tmp_path / "thing"
    with pytest.raises(OutputError, match=message):
        OutputFolder(out, NAMES).check()


def test_no_permission_is_refused_before_the_work(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root ignores modes; the check asks the OS
    with pytest.raises(OutputError, match="cannot be written: the folder .* is read-only for this user"):
        OutputFolder(tmp_path / "out", NAMES).check()


def test_a_manifest_never_names_a_file_outside_the_folder(tmp_path):
    out = tmp_path / "out"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    write_run(out, {"report.html": "1"})
    (out / MANIFEST).write_text(json.dumps({"tool": "tiktok-claims", "files": ["../victim.txt", str(victim), "report.html"]}))
    write_run(out, {"model.json": "2"})
    assert victim.read_text() == "keep"
    assert visible(out) == {"model.json": "2"}


def test_a_second_command_is_refused_while_the_first_holds_the_folder(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from tiktok_claims.folders import OutputFolder
            with OutputFolder({str(out)!r}) as folder:
                print("holding", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(OutputError, match="another tiktok-claims command is writing into this folder"):
            OutputFolder(out, NAMES).__enter__()
    finally:
        holder.kill()  # killed outright: the OS releases its lock, its staging folder stays behind
        holder.communicate()
    assert list(out.glob(f"{STAGING_PREFIX}*")), "the killed holder left its staging folder"
    write_run(out, {"report.html": "after"})
    assert visible(out) == {"report.html": "after"}, "the next run removed the killed run's staging folder"


# ---------------------------------------------------------------- interrupted commits

FIRST = {"report.html": "1", "metrics.json": "1", "model.json": "1", "figures/roc.png": "1"}
SECOND = {"report.html": "2", "metrics.json": "2", "model.json": "2", "figures/roc.png": "2"}


def stage(folder, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder.staging / name).parent.mkdir(parents=True, exist_ok=True)
        (folder.staging / name).write_text(text)


def signal_after_first_move(monkeypatch, number: int) -> None:
    """The move function sends ``number`` to this process once the first file is in place."""
    move = tiktok_claims.folders._move
    moved = []

    def move_then_signal(source, target):
        move(source, target)
        moved.append(target)
        if len(moved) == 1:
            os.kill(os.getpid(), number)

    monkeypatch.setattr(tiktok_claims.folders, "_move", move_then_signal)


def terminate(signum, frame):  # what the command line does on SIGTERM
    raise SystemExit(128 + signum)


@pytest.mark.parametrize("number, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, SystemExit)])
def test_a_signal_during_the_commit_takes_effect_after_it_with_the_whole_new_set(tmp_path, monkeypatch, number, raised):
    out = tmp_path / "out"
    write_run(out, FIRST)
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        signal_after_first_move(monkeypatch, number)
        with pytest.raises(raised), OutputFolder(out, NAMES) as folder:
            stage(folder, SECOND)
            folder.commit()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert visible(out) == SECOND
    assert json.loads((out / MANIFEST).read_text())["files"] == sorted(SECOND)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_before_the_commit_leaves_the_previous_set(tmp_path):
    out = tmp_path / "out"
    write_run(out, FIRST)
    with pytest.raises(KeyboardInterrupt), OutputFolder(out, NAMES) as folder:
        stage(folder, SECOND)
        os.kill(os.getpid(), signal.SIGINT)
        folder.commit()
    assert visible(out) == FIRST


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this OS")
def test_a_run_killed_while_moving_is_completed_by_the_next_run_which_says_so(tmp_path):
    out = tmp_path / "out"
    write_run(out, FIRST)
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os, signal
            import tiktok_claims.folders as folders
            move = folders._move
            def move_then_die(source, target):
                move(source, target)
                os.kill(os.getpid(), signal.SIGKILL)
            folders._move = move_then_die
            with folders.OutputFolder({str(out)!r}, {NAMES!r}) as folder:
                for name, text in {SECOND!r}.items():
                    (folder.staging / name).parent.mkdir(parents=True, exist_ok=True)
                    (folder.staging / name).write_text(text)
                folder.commit()
        """)],
    )
    assert killed.returncode == -signal.SIGKILL
    assert visible(out) not in (FIRST, SECOND), "the kill left the folder mixing two runs"
    with OutputFolder(out, NAMES) as folder:
        assert visible(out) == SECOND
        assert json.loads((out / MANIFEST).read_text())["files"] == sorted(SECOND)
        assert any("stopped while moving its files into place" in note for note in folder.notes), folder.notes
    assert not list(out.glob(f"{STAGING_PREFIX}*"))


def test_a_move_that_fails_halfway_is_reported_and_completed_by_the_next_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_run(out, FIRST)
    move = tiktok_claims.folders._move

    def full_after_one(source, target):
        if any(p.is_file() and p.read_text() == "2" for p in out.rglob("*") if STAGING_PREFIX not in str(p)):
            raise OSError(28, "No space left on device", str(target))
        move(source, target)

    monkeypatch.setattr(tiktok_claims.folders, "_move", full_after_one)
    with pytest.raises(OutputError, match="moving the run's files into place failed .*next run into this folder completes"):
        write_run(out, SECOND)
    monkeypatch.setattr(tiktok_claims.folders, "_move", move)
    with OutputFolder(out, NAMES) as folder:
        assert visible(out) == SECOND and folder.notes


# ---------------------------------------------------------------- what a run may replace


@pytest.mark.parametrize("name", ["figures/roc_curve.png", "figures/notes.txt", "figures/sub/sketch.png"])
def test_a_users_file_in_the_figures_folder_is_refused_before_the_work(tmp_path, name):
    out = tmp_path / "out"
    write_run(out, FIRST)
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_text("mine")
    with pytest.raises(OutputError, match=rf"holds {name}, which no tiktok-claims run wrote.*figures/ folder"):
        OutputFolder(out, NAMES, owned=(FIGURES,)).__enter__()
    assert (out / name).read_text() == "mine" and visible(out)["figures/roc.png"] == "1"


def test_symbolic_links_where_the_run_writes_are_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / FIGURES).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError, match=r"holds figures \(a symbolic link\)"):
        OutputFolder(out, NAMES, owned=(FIGURES,)).check()
    (out / FIGURES).unlink()
    (out / "report.html").symlink_to(elsewhere / "report.html")
    (out / "model.json").mkdir()
    with pytest.raises(OutputError, match=r"model.json \(a folder or special file\), report.html \(a symbolic link\)"):
        OutputFolder(out, NAMES).check()


def test_a_figure_that_appears_during_the_work_is_refused_at_the_commit(tmp_path):
    out = tmp_path / "out"
    write_run(out, FIRST)
    with pytest.raises(OutputError, match=r"holds figures/roc_curve.png, which no tiktok-claims run wrote"):
        with OutputFolder(out, NAMES, owned=(FIGURES,)) as folder:
            stage(folder, {**SECOND, "figures/roc_curve.png": "2"})
            (out / "figures" / "roc_curve.png").write_text("mine")
            folder.commit()
    assert visible(out) == {**FIRST, "figures/roc_curve.png": "mine"}


def test_a_manifest_naming_a_file_the_command_never_writes_removes_nothing(tmp_path):
    out = tmp_path / "out"
    write_run(out, FIRST)
    (out / "important.txt").write_text("keep")
    (out / MANIFEST).write_text(json.dumps({"tool": "tiktok-claims", "files": [*FIRST, "important.txt", "figures/x.txt"]}))
    (out / "figures" / "x.txt").write_text("keep too")
    with OutputFolder(out, NAMES) as folder:
        stage(folder, {"report.html": "2"})
        assert folder.commit() == ["report.html"]
    assert (out / "important.txt").read_text() == "keep" and (out / "figures" / "x.txt").read_text() == "keep too"
    assert any("important.txt" in note and "left as found" in note for note in folder.notes)
