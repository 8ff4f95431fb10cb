"""``export --check``: run the exported pipeline with ``dvc repro`` in a clean temporary copy of the
project and compare each stage's metrics with the notebook's own run of that stage, and what each
cell showed in the saved notebook with what it printed in the pipeline (:mod:`.outputs`).

The copy holds what git sees (tracked files plus untracked ones git does not ignore), as a fresh
git repository; DVC-tracked data comes back from the project's DVC cache (the copy points its
cache there). The copy shares the project's registry, so ``mlnb.data.load`` resolves as in the
notebook and the pipeline's runs are recorded (tagged ``mlnb-pipeline``). ``dvc repro
--force --no-run-cache`` makes every stage really run.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .._display import Table, format_value
from .._project import current_project
from ..errors import MlnbError, UsageError
from .outputs import rows as output_rows
from .runtime import TRANSCRIPT_ENV

#: Relative tolerance when comparing a metric of the notebook run and of the pipeline run.
REL_TOL = 1e-9


class CheckResult(Table):
    """One row per metric and per cell output: the notebook's value, the pipeline's, and whether they agree.

    ``exit_code`` is 0 when everything compared is equal, 1 when something differs or a stage has
    no matching run, and 3 when there was nothing to compare (the check could not say anything).
    """

    def __init__(self, rows: list[dict[str, Any]], repro_seconds: float, total_seconds: float, out: Path,
                 unmatched: list[str] | None = None, skipped: list[str] | None = None) -> None:
        equal = sum(1 for r in rows if r["equal"])
        self.unmatched = list(unmatched or [])
        self.skipped = list(skipped or [])
        ok = equal == len(rows) and not self.unmatched
        verdict = "reproduced" if ok else "NOT reproduced"
        outputs = sum(1 for r in rows if r["metric"].startswith("cell ") and r["metric"].endswith(" output"))
        what = "metrics" if not outputs else f"compared ({len(rows) - outputs} metrics, {outputs} cell outputs)"
        ran = f"dvc repro of {out} took {repro_seconds:.1f} s in a clean copy (check total {total_seconds:.1f} s)"
        title = f"{verdict}: {equal} of {len(rows)} {what} equal; {ran}"
        if not rows and not self.unmatched:
            title = (f"nothing compared: no stage logs metrics and no cell shows output in the saved notebook "
                     f"({ran}); log metrics with mlnb.log_metric or run and save the notebook, then check again")
        if self.unmatched:
            title += (f"; no finished run of this notebook with the current code of stage "
                      f"{', '.join(map(repr, self.unmatched))}: run its cells, then check again")
        if self.skipped:
            title += f"; not compared: {', '.join(self.skipped)}"
        super().__init__(rows, ["stage", "metric", "notebook", "pipeline", "equal"], title=title,
                         formatters={"equal": lambda v: "yes" if v else "NO", "notebook": _show, "pipeline": _show},
                         empty="nothing compared")
        self.repro_seconds = repro_seconds
        self.total_seconds = total_seconds
        self.exit_code = 3 if not rows and not self.unmatched else 0 if ok else 1


def _show(value: Any) -> str:
    return "(missing)" if value is None else format_value(value)


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def check_pipeline(exported: Any) -> CheckResult:
    """Run ``dvc repro`` on ``exported`` (an :class:`~mlnb.export.Exported`) in a clean copy; compare metrics."""
    started = time.perf_counter()
    nb_dir = exported.plan.notebook.resolve().parent
    project = current_project(nb_dir)
    top = Path(_git(project.root, "rev-parse", "--show-toplevel")).resolve()
    out = exported.out.resolve()
    if out != top and top not in out.parents:
        raise UsageError(f"--check needs the pipeline folder inside the project's git repository ({top}), not {out}")
    with tempfile.TemporaryDirectory(prefix="mlnb-check-") as tmp:
        copy = Path(tmp) / top.name
        _clean_copy(top, copy, _produced(exported, top))
        copy_root = copy / project.root.relative_to(top)
        _share_cache(project, copy_root)
        env = _pipeline_env(project.registry_url)
        transcripts = Path(tmp) / "transcripts"
        env[TRANSCRIPT_ENV] = str(transcripts)
        t0 = time.perf_counter()
        _run([_dvc(), "repro", "--force", "--no-run-cache", str(copy / (out / "dvc.yaml").relative_to(top))],
             copy_root, env, "dvc repro")
        repro = time.perf_counter() - t0
        pipeline = {
            s.name: _read_json(copy / (out / "metrics" / f"{s.name}.json").relative_to(top))
            for s in exported.plan.stages if s.metrics
        }
        shown, skipped = output_rows(exported.plan, transcripts)
    plan = exported.plan
    notebook = notebook_metrics(replace(plan, stages=[s for s in plan.stages if s.name in pipeline]))
    rows = []
    for stage, values in pipeline.items():
        theirs = notebook.get(stage, {})
        for key in sorted(set(values) | set(theirs)):
            a, b = theirs.get(key), values.get(key)
            rows.append({"stage": stage, "metric": key, "notebook": a, "pipeline": b, "equal": same(a, b)})
    unmatched = [stage for stage in pipeline if stage not in notebook]
    return CheckResult(rows + shown, repro, time.perf_counter() - started, exported.out, unmatched, skipped)


def notebook_metrics(plan: Any) -> dict[str, dict[str, Any]]:
    """Per stage, the metrics of this notebook's own newest finished run of the stage's current code.

    A run is the notebook's own when it was recorded from the notebook's path and its code is, by
    content hash, one of the stage's cells as the notebook holds them now: runs of a stage of the
    same name in another notebook sharing the registry, or of an older version of the cell, are
    never compared. A stage with no such run (a notebook without markers, whose cells start their
    own runs) is compared through the runs its pipeline run started inside itself, each matched
    the same way. A stage without a match is left out.
    """
    from .. import runs
    from .cells import code_digest
    from .runtime import PIPELINE_TAG, run_metrics

    notebook = str(Path(plan.notebook).resolve())
    stages = {s.name: s for s in plan.stages}

    def own(name: str, stage: Any) -> str | None:
        digests = {code_digest(c.source) for c in stage.cells}
        wanted = f"name = {name!r} and notebook = {notebook!r} and status = 'finished' and not tags.{PIPELINE_TAG}"
        for row in runs.list(wanted, limit=100):
            record = runs.get(row["id"])
            if code_digest(record.code) not in digests:
                continue
            if record.parent_id is None or PIPELINE_TAG not in runs.get(record.parent_id).tags:
                return record.id
        return None

    found: dict[str, dict[str, Any]] = {}
    for name, stage in stages.items():
        match = own(name, stage)
        if match is not None:
            found[name] = run_metrics(match)
            continue
        pipeline = runs.list(f"name = {name!r} and tags.{PIPELINE_TAG}", limit=1)
        merged: dict[str, Any] = {}
        for child in runs.get(pipeline[0]["id"]).children if len(pipeline) else []:
            match = own(runs.get(child).name, stage)
            if match is not None:
                merged.update(run_metrics(match))
        if merged:
            found[name] = merged
    return found


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise UsageError(f"--check needs the project in git: git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _produced(exported: Any, top: Path) -> set[str]:
    """What the pipeline writes (relative to ``top``): left out of the copy, as a fresh clone would."""
    from .writer import metrics_path, var_path

    out, nb_dir = exported.out.resolve(), exported.plan.notebook.resolve().parent
    found: set[str] = set()
    for stage in exported.plan.stages:
        paths = [nb_dir / p for p in stage.outs] + [out / var_path(stage.name, n) for n in stage.outputs]
        paths += [out / metrics_path(stage)] if stage.metrics else []
        found |= {Path(os.path.normpath(p)).relative_to(top).as_posix() for p in paths}
    return found


def _clean_copy(top: Path, copy: Path, produced: set[str]) -> None:
    listed = _git(top, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in sorted({r for r in listed if r}):
        src = top / rel
        if not src.is_file() or any(rel == p or rel.startswith(p + "/") for p in produced):
            continue
        dst = copy / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-q", "--no-verify", "-m", "mlnb export --check")):
        subprocess.run(["git", "-c", "user.name=mlnb", "-c", "user.email=mlnb@localhost", *args],
                       cwd=copy, check=True, capture_output=True)


def _share_cache(project: Any, copy_root: Path) -> None:
    """Point the copy's DVC cache at the project's, then restore DVC-tracked data from it."""
    cache = Path(project.dvc.cache.local_cache_dir).resolve()
    config = copy_root / ".dvc" / "config.local"
    config.write_text(f"[cache]\n    dir = {cache}\n")
    import logging

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    # pipeline outputs have no hashes yet: DVC warns about each; only .dvc-tracked data matters here
    logging.getLogger("dvc_data").setLevel(logging.ERROR)
    with Repo(str(copy_root)) as repo:
        try:
            repo.checkout(force=True)
        except DvcException as exc:  # CheckoutError and kin; anything else is a bug and surfaces
            logging.getLogger(__name__).debug("checkout in the --check copy failed", exc_info=True)
            if "missing" not in str(exc).lower():  # a stage may still not need what is missing
                raise MlnbError(f"--check could not restore DVC-tracked data in the copy: {exc}") from None


def _pipeline_env(registry_url: str) -> dict[str, str]:
    """The environment `dvc repro` runs scripts in: this Python first on PATH, this mlnb importable."""
    import mlnb

    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    package_parent = str(Path(mlnb.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [package_parent, env.get("PYTHONPATH", "")] if p)
    env["MLNB_REGISTRY_URL"] = registry_url
    return env


def _dvc() -> str:
    beside = Path(sys.executable).parent / "dvc"
    return str(beside) if beside.exists() else (shutil.which("dvc") or "dvc")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise MlnbError(f"{what} failed in the clean copy (exit {proc.returncode}):\n{tail}")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return json.loads(path.read_text())
