"""``mlnb export`` / ``%mlops export`` and the ``%%mlops stage`` cell magic: thin verbs over :mod:`mlnb.export`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import Context, add_json_flag, add_verb
from ..errors import MlnbError, UsageError
from .cells import add_stage_arguments


def register(sub: Any) -> None:
    p = add_verb(sub, "export", _export,
                 "write the notebook as a DVC pipeline (a script per stage, dvc.yaml, params.yaml)")
    p.add_argument("target", nargs="*", metavar="NOTEBOOK|OUT",
                   help="the notebook (.ipynb) and/or the output folder; in a notebook: the output folder")
    p.add_argument("--out", help="output folder (default: pipeline)")
    p.add_argument("--notebook", help="the notebook to export (default in a notebook: the current one)")
    p.add_argument("--check", action="store_true",
                   help="also run `dvc repro` in a clean temporary copy and compare metrics with the notebook's run")
    p.add_argument("--untrack", action="store_true",
                   help="stop tracking in git (git rm --cached) the outputs the pipeline writes; the files stay")
    add_json_flag(p)

    p = add_verb(sub, "stage", _stage, "%%mlops stage NAME: run this cell as pipeline stage NAME (recorded as a run)",
                 cell_only=True)
    add_stage_arguments(p)


def _export(args: argparse.Namespace, ctx: Context) -> Any:
    from . import export

    notebook, out = args.notebook, args.out
    for value in args.target:
        if value.endswith(".ipynb"):
            if notebook:
                raise UsageError(f"two notebooks given ({notebook}, {value}): export one at a time")
            notebook = value
        elif Path(value).is_file():
            raise UsageError(f"{value} is not a notebook: give the .ipynb file to export")
        elif out:
            raise UsageError(f"two output folders given ({out}, {value}): give one")
        else:
            out = value
    notebook = notebook or current_notebook(ctx)
    return export(notebook, out or "pipeline", check=args.check, untrack=args.untrack)


def current_notebook(ctx: Context) -> str:
    """The notebook this kernel runs, from the Jupyter session; else ask for ``--notebook``."""
    path = _session_notebook(ctx)
    if path is None:
        where = "this kernel does not say which notebook it runs" if ctx.shell is not None else "no notebook given"
        raise UsageError(f"{where}: pass the notebook, e.g. `export analysis.ipynb --out pipeline/` "
                         "or `--notebook analysis.ipynb`")
    return str(path)


def _session_notebook(ctx: Context) -> Path | None:
    from ..runs._capture import notebook_path

    found = notebook_path(ctx.shell)  # the file's absolute path when it exists
    if not found or not str(found).endswith(".ipynb"):
        return None
    return Path(found)


def _stage(args: argparse.Namespace, ctx: Context) -> Any:
    __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of a cell's traceback
    if ctx.cell is None or ctx.shell is None:
        raise UsageError("`stage` marks a notebook cell: write `%%mlops stage NAME` as the cell's first line")
    from .cells import check_stage_name

    check_stage_name(args.name)
    from ..notebook.stages import continue_after
    from ..runs._cell import record_cell_run
    from .runtime import NOTEBOOK_TAG

    result, run = record_cell_run(args.name, ctx.cell, ctx.shell, params=_stage_params(args.name, ctx),
                                  tags=[NOTEBOOK_TAG])
    continue_after(run, ctx.shell)  # unmarked cells after this one belong to the stage, as in the export
    return result


def _stage_params(name: str, ctx: Context) -> dict[str, Any]:
    """The parameters stage ``name`` uses, with their values in this kernel.

    The exported script of the stage records the same names (read from ``params.yaml``), so a
    notebook run and a pipeline run of a stage compare param for param. They are found by
    planning the saved notebook; none when the kernel cannot say which notebook it runs, the
    notebook is not saved, or the saved notebook does not plan (yet) or has no such stage.
    """
    path = _session_notebook(ctx)
    if path is None:
        return {}
    ns = ctx.shell.user_ns
    return {p: ns[p] for p in _planned_params(path).get(name, []) if p in ns}


_planned: dict[tuple[str, int, int], dict[str, list[str]]] = {}


def _planned_params(path: Path) -> dict[str, list[str]]:
    """Stage name -> parameter names, planned once per saved version of the notebook."""
    from .cells import read_notebook
    from .plan import build_plan

    try:
        st = path.stat()
    except OSError:  # not saved yet (a new notebook), or gone
        return {}
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _planned:
        try:
            stages = build_plan(read_notebook(path)).stages
        except MlnbError:  # a notebook that does not read or plan (yet): no params
            stages = []
        _planned.clear()
        _planned[key] = {s.name: list(s.params) for s in stages}
    return _planned[key]
