"""What exported stage scripts import (``from mlnb.export import runtime as _mlnb_export``).

Kept small and free of IPython (only its plain-text printer, when installed): parameters from
``params.yaml``, values crossing a stage boundary, the run a stage records, ``%mlops`` lines, and what
a cell shows (its last expression; its printed text kept for ``--check``).

Formats for a value crossing stages (a folder named after the value holds one file):

- ``frame.parquet``: a pandas DataFrame (``series.parquet`` for a Series); non-text column
  labels (``0, 1, 2`` ...) are kept in ``columns.json`` beside it;
- ``array.npy``: a numpy array, written with ``allow_pickle=False``;
- ``value.json``: ``None``, bools, numbers, strings, and lists/dicts of them;
- ``object.skops``: anything else (fitted models, pipelines ...) through skops, loaded by
  :func:`mlnb._safe_load.load_skops`: only skops' defaults, an explicit list of data types and the
  script's own classes are trusted, no callable; trust more, by exact name, with
  ``MLNB_EXPORT_TRUST="mymodule.MyType,..."``. Without skops installed: ``object.joblib``
  (pickle-based — load only files your own pipeline wrote).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Tag of the runs a pipeline stage records (the notebook's own stage runs carry ``mlnb-stage``).
PIPELINE_TAG = "mlnb-pipeline"
NOTEBOOK_TAG = "mlnb-stage"
#: Environment variable naming extra types (exact, comma-separated) a stage may load from skops.
TRUST_ENV = "MLNB_EXPORT_TRUST"
#: Environment variable naming a folder where each cell's printed text is kept (``--check`` sets it).
TRANSCRIPT_ENV = "MLNB_EXPORT_TRANSCRIPT"


def load_params(path: str) -> dict[str, Any]:
    """The parameters of ``params.yaml`` as a dict."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _plain(value: Any) -> bool:
    try:
        return json.loads(json.dumps(value)) == value and type(json.loads(json.dumps(value))) is type(value)
    except (TypeError, ValueError):
        return False


def write_var(value: Any, folder: str) -> Path:
    """Write ``value`` into ``folder`` in the safest format that holds it."""
    try:
        return _write_var(value, folder)
    except Exception as exc:  # not swallowed: raised again naming the variable, with the cause chained
        raise RuntimeError(
            f"cannot save `{Path(folder).name}` ({type(value).__name__}) for the next stage in {folder}: {exc}; "
            "compute it in the stage that uses it, or define it in the setup cells"
        ) from exc


def _write_var(value: Any, folder: str) -> Path:
    out = Path(folder)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    kind = type(value).__module__.split(".")[0] + "." + type(value).__name__
    if kind == "pandas.DataFrame":
        labels = list(value.columns)
        if not all(isinstance(c, str) for c in labels) and _plain(labels) and value.columns.nlevels == 1:
            # parquet wants text column names: store e.g. 0, 1, 2 beside the frame
            (out / "columns.json").write_text(json.dumps(labels))
            value = value.set_axis([str(c) for c in labels], axis=1)
        try:
            value.to_parquet(out / "frame.parquet")
            return out / "frame.parquet"
        except (ValueError, TypeError, ImportError):
            (out / "frame.parquet").unlink(missing_ok=True)
            (out / "columns.json").unlink(missing_ok=True)
    elif kind == "pandas.Series" and _plain(value.name):
        value.to_frame(name="series").to_parquet(out / "series.parquet")
        (out / "name.json").write_text(json.dumps(value.name))
        return out / "series.parquet"
    elif kind == "numpy.ndarray" and value.dtype != object:
        import numpy as np

        np.save(out / "array.npy", value, allow_pickle=False)
        return out / "array.npy"
    if _plain(value):
        (out / "value.json").write_text(json.dumps(value, sort_keys=True))
        return out / "value.json"
    try:
        import skops.io as sio
    except ImportError:
        import joblib

        joblib.dump(value, out / "object.joblib")
        return out / "object.joblib"
    sio.dump(value, out / "object.skops")
    return out / "object.skops"


def read_var(folder: str) -> Any:
    """Read back what :func:`write_var` wrote."""
    out = Path(folder)
    if (out / "frame.parquet").exists():
        import pandas as pd

        frame = pd.read_parquet(out / "frame.parquet")
        if (out / "columns.json").exists():
            frame = frame.set_axis(pd.Index(json.loads((out / "columns.json").read_text())), axis=1)
        return frame
    if (out / "series.parquet").exists():
        import pandas as pd

        name = json.loads((out / "name.json").read_text())
        return pd.read_parquet(out / "series.parquet").iloc[:, 0].rename(name)
    if (out / "array.npy").exists():
        import numpy as np

        return np.load(out / "array.npy", allow_pickle=False)
    if (out / "value.json").exists():
        return json.loads((out / "value.json").read_text())
    if (out / "object.skops").exists():
        return _load_skops(out / "object.skops")
    if (out / "object.joblib").exists():
        import joblib

        return joblib.load(out / "object.joblib")
    raise FileNotFoundError(f"{folder} holds no value written by mlnb: run the stage that produces it (dvc repro)")


def _load_skops(path: Path) -> Any:
    from .._safe_load import load_skops

    trust = os.environ.get(TRUST_ENV, "").split(",")
    return load_skops(path, trust, hint=f"if you trust where it came from, set {TRUST_ENV} to a "
                                        "comma-separated list of them")


@contextlib.contextmanager
def stage(name: str, params: dict[str, Any] | None = None, metrics: str | None = None) -> Iterator[None]:
    """Run a stage's body inside an mlnb run named ``name``; write its metrics file at the end."""
    from ..data import working_copy_refs
    from ..runs import start_run

    # dvc.yaml lists a dataset's working-copy file as the dependency: read exactly that version
    with start_run(name, params=params or {}, tags=[PIPELINE_TAG]) as run, working_copy_refs():
        yield
    if metrics:
        values = run_metrics(run.id)
        Path(metrics).parent.mkdir(parents=True, exist_ok=True)
        Path(metrics).write_text(json.dumps(values, sort_keys=True, indent=2) + "\n")


def run_metrics(run_id: str) -> dict[str, Any]:
    """The last value of every metric a run logged, with its child runs' (``start_run`` inside a cell)."""
    from ..runs import get

    record = get(run_id)
    values: dict[str, Any] = {}
    for child in record.children:
        values.update(get(child).metrics)
    values.update(record.metrics)
    return dict(sorted(values.items()))


def run(line: str) -> Any:
    """``%%mlops run NAME --param k=v --tag t`` in a script: the same run, as a context manager."""
    import shlex

    from ..cli import build_parser
    from ..runs import start_run
    from ..runs._cli import parse_params

    args = build_parser().parse_args(["run", *shlex.split(line)])
    params = parse_params(args.param)
    return start_run(args.name, params=params, tags=args.tag or [])


def mlops(line: str) -> Any:
    """A ``%mlops ...`` line in a script: the same verb, through the CLI tree."""
    import shlex

    from ..cli import Context, run

    return run(shlex.split(line), Context(prog="mlnb"))[1]


def show(value: Any) -> None:
    """A cell's last expression, printed as IPython shows it (its plain text); nothing for None."""
    if value is not None:
        print(_plain_text(value))


def _plain_text(value: Any) -> str:
    try:
        from IPython.lib.pretty import pretty
    except ImportError:  # pragma: no cover - IPython comes with mlnb
        return repr(value)
    return pretty(value)


class _Tee:
    """sys.stdout that also copies what a cell prints into that cell's transcript file."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.file: Any = None

    def write(self, text: str) -> int:
        if self.file is not None:
            self.file.write(text)
            self.file.flush()
        return self.out.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.out, name)


def cell(number: int) -> None:
    """Start cell ``number`` of the notebook: with ``MLNB_EXPORT_TRANSCRIPT`` set (by ``--check``),
    what it prints is also kept in ``<folder>/<script>/cell-<number>.txt``; otherwise nothing."""
    import sys

    folder = os.environ.get(TRANSCRIPT_ENV)
    if not folder:
        return
    tee = sys.stdout if isinstance(sys.stdout, _Tee) else _Tee(sys.stdout)
    sys.stdout = tee
    if tee.file is not None:
        tee.file.close()
    target = Path(folder) / Path(sys.argv[0]).stem / f"cell-{number}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    tee.file = open(target, "a", encoding="utf-8")  # noqa: SIM115 - closed by the next cell or at exit


def display(*objects: Any) -> None:
    """Scripts have no rich display: print the plain text a notebook would show."""
    for obj in objects:
        print(_plain_text(obj))
