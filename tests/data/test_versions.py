"""Data versioning against real git, real DVC and a local-directory DVC remote."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import mlnb
from mlnb.errors import NotFound, UsageError

from tests.conftest import git


@pytest.fixture
def project(backend_project):  # type: ignore[no-untyped-def]
    """Every test in this module runs on SQLite and again on PostgreSQL (registry-level tests)."""
    return backend_project


def frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50_000, 10_000, n),
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),
        }
    )


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def dvc_out(project, rel: str) -> dict:
    return yaml.safe_load((project.root / f"{rel}.dvc").read_text())["outs"][0]


def test_save_registers_a_version_tracked_by_dvc(project):
    v = mlnb.data.save(frame(), "train", message="raw export")
    assert (v.name, v.version, v.rows, v.cols, v.message) == ("train", 1, 50, 3, "raw export")
    path = project.root / "data/train.parquet"
    assert v.md5 == md5(path) == dvc_out(project, "data/train.parquet")["md5"]
    assert (project.root / ".dvc/cache/files/md5" / v.md5[:2] / v.md5[2:]).is_file()
    assert "/train.parquet" in (project.root / "data/.gitignore").read_text()


def test_identical_content_is_the_same_version(project):
    df = frame()
    first = mlnb.data.save(df, "train")
    again = mlnb.data.save(df.copy(), "train")
    assert again.id == first.id and again.version == 1
    assert len(mlnb.data.log("train")) == 1


def test_equal_frames_give_byte_identical_parquet(project, tmp_path):
    mlnb.data.save(frame(seed=3), "a")
    mlnb.data.save(frame(seed=3), "b")
    assert (project.root / "data/a.parquet").read_bytes() == (project.root / "data/b.parquet").read_bytes()


def test_new_content_gets_the_next_version_and_load_reads_any(project):
    v1 = mlnb.data.save(frame(seed=1), "train")
    v2 = mlnb.data.save(frame(seed=2), "train", message="second")
    assert (v1.version, v2.version) == (1, 2)
    pd.testing.assert_frame_equal(mlnb.data.load("train@1"), frame(seed=1))
    pd.testing.assert_frame_equal(mlnb.data.load("train"), frame(seed=2))
    pd.testing.assert_frame_equal(mlnb.data.load("train@latest"), frame(seed=2))
    pd.testing.assert_frame_equal(mlnb.data.load(v1.md5[:8]), frame(seed=1))
    pd.testing.assert_frame_equal(mlnb.data.load(f"train@{v1.md5[:7]}"), frame(seed=1))
    # loading an old version leaves the working copy alone
    assert md5(project.root / "data/train.parquet") == v2.md5


def test_records_the_git_commit_when_there_is_one(project):
    v1 = mlnb.data.save(frame(seed=1), "train")
    assert v1.git_commit is None  # no commit yet: still versioned
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "track train")
    v2 = mlnb.data.save(frame(seed=2), "train")
    assert v2.git_commit == git(project.root, "rev-parse", "HEAD")


def test_add_file_and_folder(project):
    images = project.root / "data/images"
    images.mkdir(parents=True)
    for i in range(3):
        (images / f"{i}.png").write_bytes(bytes([i]) * 100)
    v = mlnb.data.add("data/images", name="images", message="crawl")
    assert v.is_dir and v.nfiles == 3 and v.size == 300
    (images / "3.png").write_bytes(b"new")
    v2 = mlnb.data.add("data/images", name="images")
    assert v2.version == 2 and v2.nfiles == 4
    old = mlnb.data.path("images@1")
    assert sorted(p.name for p in old.iterdir()) == ["0.png", "1.png", "2.png"]
    assert (old / "1.png").read_bytes() == bytes([1]) * 100


def test_csv_added_with_stats(project):
    frame().to_csv("table.csv", index=False)
    v = mlnb.data.add("table.csv", message="csv")
    assert (v.name, v.rows, v.cols) == ("table", 50, 3)
    assert v.summary["income"]["mean"] == pytest.approx(frame()["income"].mean())


def test_a_csv_that_is_not_csv_is_versioned_without_stats(project, caplog):
    """A file named .csv that pandas cannot read is still data worth versioning; why it got no
    summary is in the "mlnb" debug log."""
    Path("blob.csv").write_bytes(bytes(range(256)) * 4)  # not CSV: pandas cannot tokenize it
    with caplog.at_level(logging.DEBUG, logger="mlnb"):
        v = mlnb.data.add("blob.csv")
    assert (v.version, v.size, v.rows, v.cols, v.summary) == (1, 1024, None, None, None)
    (record,) = [r for r in caplog.records if r.name.startswith("mlnb.") and r.exc_info]
    assert record.getMessage() == "blob.csv is not readable as a table: versioned without a summary"
    # pandas 3 fails to tokenize it, pandas 2 already fails to decode it: both are read errors
    assert type(record.exc_info[1]) in (pd.errors.ParserError, UnicodeDecodeError)


def test_readd_unchanged_is_a_no_op(project):
    frame().to_parquet("x.parquet")
    v = mlnb.data.add("x.parquet", name="x")
    dvc_before = (project.root / "x.parquet.dvc").read_text()
    assert mlnb.data.add("x.parquet", name="x").id == v.id
    assert (project.root / "x.parquet.dvc").read_text() == dvc_before
    assert len(mlnb.data.log("x")) == 1


def test_list_and_log(project):
    mlnb.data.save(frame(seed=1), "train")
    mlnb.data.save(frame(seed=2), "train", message="two")
    mlnb.data.save(frame(n=7), "test")
    rows = mlnb.data.list().to_dict()
    assert [(r["name"], r["latest"], r["versions"], r["rows"]) for r in rows] == [("test", 1, 1, 7), ("train", 2, 2, 50)]
    log = mlnb.data.log("train")
    assert [r["version"] for r in log] == [2, 1] and log[0]["message"] == "two"
    assert list(log.to_frame().columns) == ["version", "md5", "size", "rows", "cols", "message", "git_commit", "created_at"]


def test_diff_reports_shape_columns_dtypes_and_stats(project):
    df = frame()
    v1 = mlnb.data.save(df, "train")
    changed = df.drop(columns="city").assign(age=df["age"].astype("float64") * 2, extra=1).head(40)
    v2 = mlnb.data.save(changed, "train")
    got = {(r["change"], r["column"]): (r["before"], r["after"]) for r in mlnb.data.diff("train@1", "train@2")}
    assert list(got.items())[:5] == [
        (("rows", ""), (50, 40)), (("size", ""), (v1.size, v2.size)),
        (("column removed", "city"), (str(df["city"].dtype), None)), (("column added", "extra"), (None, "int64")),
        (("dtype", "age"), ("int64", "float64")),
    ]
    for column in ("age", "income"):  # each statistic that changed, at pandas' values; no other
        for stat in ("mean", "std", "min", "max"):
            before, after = getattr(df[column], stat)(), getattr(changed[column], stat)()
            if before == pytest.approx(after):
                assert (stat, column) not in got, (stat, column)
            else:
                assert got.pop((stat, column)) == pytest.approx((before, after)), (stat, column)
    assert len(got) == 5, got
    assert len(mlnb.data.diff("train@2", "train@2")) == 0


def test_checkout_restores_a_version_and_its_dvc_file(project):
    v1 = mlnb.data.save(frame(seed=1), "train")
    mlnb.data.save(frame(seed=2), "train")
    mlnb.data.checkout("train@1")
    assert md5(project.root / "data/train.parquet") == v1.md5
    assert dvc_out(project, "data/train.parquet")["md5"] == v1.md5
    pd.testing.assert_frame_equal(pd.read_parquet(project.root / "data/train.parquet"), frame(seed=1))


def test_push_then_load_old_version_from_the_remote_in_a_fresh_clone(project, tmp_path, monkeypatch):
    mlnb.data.save(frame(seed=1), "train")
    mlnb.data.save(frame(seed=2), "train")
    assert mlnb.data.push().to_dict() == {"direction": "push", "versions": 2, "transferred": 2}
    assert mlnb.data.push()["transferred"] == 0  # the remote has both: nothing sent twice
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "data")
    # same registry (a team database), fresh clone with an empty DVC cache
    registry_url = project.registry_url
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project.root), str(clone))
    (clone / ".mlnb").mkdir(exist_ok=True)
    monkeypatch.chdir(clone)
    monkeypatch.setenv("MLNB_REGISTRY_URL", registry_url)
    assert not (clone / ".dvc/cache").exists()
    pd.testing.assert_frame_equal(mlnb.data.load("train@1"), frame(seed=1))
    assert not (clone / "data/train.parquet").exists()  # the working copy was not touched
    mlnb.data.pull()
    pd.testing.assert_frame_equal(pd.read_parquet(clone / "data/train.parquet"), frame(seed=2))


@pytest.mark.parametrize(
    ("ref", "error", "words"),
    [
        ("nope", NotFound, "no dataset named 'nope'"),
        ("train@9", NotFound, "no data version 'train@9'"),
        ("train@x!", UsageError, "invalid version"),
        ("@1", UsageError, "a name must come before"),
        ("", UsageError, "invalid data reference"),
    ],
)
def test_bad_references_say_what_is_wrong(project, ref, error, words):
    mlnb.data.save(frame(), "train")
    with pytest.raises(error, match=words):
        mlnb.data.load(ref)


def test_bad_paths_and_names(project, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(UsageError, match="outside the project"):
        mlnb.data.add(str(outside))
    with pytest.raises(NotFound, match="does not exist"):
        mlnb.data.add("missing.csv")
    with pytest.raises(UsageError, match="invalid dataset name"):
        mlnb.data.save(frame(), "../evil")
    with pytest.raises(UsageError, match="expects a pandas DataFrame"):
        mlnb.data.save([1, 2], "train")
    mlnb.data.save(frame(), "train")
    frame().to_csv("other.csv")
    with pytest.raises(UsageError, match="already tracks data/train.parquet"):
        mlnb.data.add("other.csv", name="train")
    assert len(mlnb.data.log("train")) == 1  # nothing already saved was lost


def test_not_a_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(mlnb.errors.NotAProject, match="run `%mlops init`"):
        mlnb.data.list()


def test_load_without_cache_or_remote_says_so(project):
    v = mlnb.data.save(frame(), "train")
    shutil.rmtree(project.root / ".dvc/cache")
    conf = project.dvc.config
    remote = Path(conf["remote"][conf["core"]["remote"]]["url"])
    assert remote == project.root.parent / "remote"  # set ...
    assert not any(p.is_file() for p in remote.rglob("*"))  # ... and empty
    with pytest.raises(NotFound, match="was it pushed"):
        mlnb.data.load(v.ref)


def test_init_is_idempotent_and_sets_a_remote(project, tmp_path):
    before = (project.root / ".dvc/config").read_text()
    result = mlnb.init()
    assert (project.root / ".dvc/config").read_text() == before
    assert result["remote"] == str((tmp_path / "remote").resolve())
    assert "registry.db" in (project.root / ".mlnb/.gitignore").read_text()


def test_status_follows_the_working_copy(project):
    mlnb.data.save(frame(seed=1), "train")
    mlnb.data.save(frame(seed=2), "train")
    state = lambda: {r["name"]: (r["checked_out"], r["state"]) for r in mlnb.data.status()}  # noqa: E731
    assert state() == {"train": ("train@2", "latest")}
    mlnb.data.checkout("train@1")
    assert state() == {"train": ("train@1", "older version")}
    frame(seed=3).to_parquet(project.root / "data/train.parquet")
    assert state() == {"train": ("train@1", "modified")}
    (project.root / "data/train.parquet").unlink()
    assert state() == {"train": ("train@1", "missing")}


def test_pipeline_stages_read_the_checked_out_version(project):
    """An exported stage depends on the working-copy file; inside working_copy_refs() an unpinned
    reference reads that version, so what DVC hashed is what the stage read."""
    from mlnb.data import working_copy_refs

    mlnb.data.save(frame(seed=1), "train")
    mlnb.data.save(frame(seed=2), "train")
    mlnb.data.checkout("train@1")
    with working_copy_refs():
        pd.testing.assert_frame_equal(mlnb.data.load("train"), frame(seed=1))
        pd.testing.assert_frame_equal(mlnb.data.load("train@latest"), frame(seed=1))
        pd.testing.assert_frame_equal(mlnb.data.load("train@2"), frame(seed=2))  # pinned stays pinned
    pd.testing.assert_frame_equal(mlnb.data.load("train"), frame(seed=2))  # a notebook reads the newest
