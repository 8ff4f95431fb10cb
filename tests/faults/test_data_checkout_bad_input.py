"""Bad input to checkout, push, pull and demo: one line, the documented exit code, nothing changed."""

from __future__ import annotations

import subprocess

import pytest

import mlnb
from mlnb.errors import NotFound
from tests.conftest import run_cli
from tests.faults._harness import assert_one_line_error, snapshot
from tests.faults.test_data_checkout_unsaved import drop_from_cache

#: (arguments, exit code, words the line must hold); every case runs against the same project.
CASES = [
    (["data", "checkout", "nope"], 3, "no dataset named 'nope'"),
    (["data", "checkout", "t@99"], 3, "no data version 't@99'"),
    (["data", "checkout", "t@x!y"], 2, "invalid version"),
    (["data", "checkout", ""], 2, "invalid data reference"),
    (["data", "checkout", "@1"], 2, "a name must come before '@'"),
    (["data", "checkout"], 2, "the following arguments are required: ref"),
    (["data", "checkout", "t@1", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["data", "checkout", "t@1"], 2, "t.txt has changes that are not saved as a version"),
    (["data", "checkout", "t@2"], 2, "t.txt has changes that are not saved as a version"),
    (["data", "checkout", "gone@1"], 3, "gone@1 is not in the local cache nor on the remote"),
    (["data", "checkout", "imgs@1"], 3, "imgs.dvc is missing"),
    (["data", "push"], 3, "gone@1 (md5 "),
    (["data", "pull"], 3, "gone@1 (md5 "),
    (["data", "push", "-r", "nosuch"], 2, "nosuch"),
    (["data", "pull", "-r", "nosuch"], 2, "nosuch"),
    (["data", "push", "extra"], 2, "unrecognized arguments: extra"),
    (["demo", ".", "--no-lab"], 2, "is not a demo project"),
    (["demo", "t.txt", "--no-lab"], 2, "is a file"),
]


def test_bad_input_is_one_line_and_changes_nothing(project):
    root = project.root
    f = root / "t.txt"
    for text in ("one\n", "two\n"):
        f.write_text(text)
        mlnb.data.add("t.txt", name="t")
    (root / "g.txt").write_text("lost\n")
    gone = mlnb.data.add("g.txt", name="gone")
    (root / "imgs").mkdir()
    (root / "imgs/a.txt").write_text("a")
    mlnb.data.add("imgs", name="imgs")
    drop_from_cache(project, gone.md5)  # gone@1: neither cached nor pushed
    (root / "g.txt").unlink()
    with pytest.raises(NotFound, match="gone@1"):
        mlnb.data.push()  # everything else is on the remote now, so a later push sends nothing new
    (root / "imgs.dvc").unlink()
    f.write_text("edits nobody saved\n")
    before = snapshot(root)
    remote = sorted(p.name for p in (root.parent / "remote").rglob("*"))

    for args, code, words in CASES:
        line = assert_one_line_error(run_cli(*args, cwd=root), code)
        assert words in line, (args, line)
        assert snapshot(root) == before, args
        assert sorted(p.name for p in (root.parent / "remote").rglob("*")) == remote, args
    assert not subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=root, capture_output=True,
                              text=True).stdout.count(".mlnb-checkout-")
    print(f"\n{len(CASES)} bad inputs: each one line, its exit code, project and remote unchanged")
