"""``%%mlops run`` and ``mlnb runs ...`` / ``%mlops runs ...``: thin verbs over :mod:`mlnb.runs`."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from ..cli import Context, add_json_flag, add_verb
from ..errors import UsageError


def _runs():  # type: ignore[no-untyped-def]
    from .. import runs

    return runs


def parse_param(text: str) -> tuple[str, Any]:
    """``k=v`` with ``v`` read as JSON when it is JSON (numbers, true, lists), else as text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"invalid --param {text!r}: write NAME=VALUE, e.g. --param lr=0.1")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def parse_params(texts: list[str] | None) -> dict[str, Any]:
    """Every ``--param k=v``; naming one parameter twice is a mistake, not a silent override."""
    params: dict[str, Any] = {}
    for key, value in map(parse_param, texts or []):
        if key in params:
            raise UsageError(f"--param {key} is given twice ({params[key]!r} and {value!r}): keep one")
        params[key] = value
    return params


def _record(args: argparse.Namespace, ctx: Context) -> Any:
    __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of a cell's traceback
    if ctx.cell is None:
        raise UsageError("`run` records a notebook cell: write `%%mlops run NAME` at the top of a cell "
                         "(in a script, use `with mlnb.start_run(NAME):`)")
    params = parse_params(args.param)
    return _runs().record_cell(args.name, ctx.cell, ctx.shell, params=params, tags=args.tag or [],
                               experiment=args.experiment)


def _list(args: argparse.Namespace, ctx: Context) -> Any:
    from ._query_fast import list_runs_fast

    query = dict(filter=getattr(args, "filter", None), sort=getattr(args, "sort", None),
                 limit=getattr(args, "limit", 50), offset=getattr(args, "offset", 0),
                 experiment=getattr(args, "experiment", None), lifecycle=getattr(args, "lifecycle", "active"))
    fast = list_runs_fast(**query)
    return _runs().list(**query) if fast is None else fast


#: ``--sort -metrics.accuracy``: argparse reads "-metrics..." as an unknown option unless it looks
#: like a negative number, so on these parsers "-FIELD" does.
_DESCENDING = re.compile(r"^-(\d+\.?\d*|\.\d+|[A-Za-z_][\w.`/,+-]*)$")


def _list_options(p: argparse.ArgumentParser, suppress: bool) -> None:
    p._negative_number_matcher = _DESCENDING  # type: ignore[attr-defined]
    default = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p.add_argument("--filter", default=default(None),
                   help="e.g. \"metrics.accuracy > 0.8 and params.lr < 0.5\", \"tags.churn\", \"name ~ 'base'\"")
    p.add_argument("--sort", default=default(None), help="field, '-' for descending (default: -started_at)")
    p.add_argument("--limit", type=int, default=default(50), help="rows to show (default: 50)")
    p.add_argument("--offset", type=int, default=default(0), help="rows to skip, for paging")
    p.add_argument("--json", action="store_true", default=default(False), help="print machine-readable JSON (stable keys)")
    from ._curate_cli import lifecycle_options

    lifecycle_options(p, default)


def register(sub: Any) -> None:
    p = add_verb(sub, "run", _record, "record this cell as a run: %%mlops run NAME --param k=v --tag t",
                 cell_only=True)
    p.add_argument("name", help="the run's name")
    p.add_argument("--param", action="append", metavar="K=V", help="a parameter to record (repeatable)")
    p.add_argument("--tag", action="append", metavar="TAG", help="a tag (repeatable)")
    p.add_argument("--experiment", metavar="NAME", help="group the run under an experiment")

    parser = add_verb(sub, "runs", _list, "list, show, compare, export and import runs (alone: list)")
    _list_options(parser, suppress=False)
    verbs = parser.add_subparsers(title="runs commands", metavar="VERB", parser_class=type(parser))

    p = add_verb(verbs, "list", _list, "runs matching a filter, sorted (newest first by default)")
    _list_options(p, suppress=True)

    p = add_verb(verbs, "show", lambda a, c: _runs().get(a.id), "one run: params, metrics, code, environment, lineage")
    p.add_argument("id", help="a run id or a unique prefix of 4+ characters")
    add_json_flag(p)

    p = add_verb(verbs, "compare", lambda a, c: _runs().compare(a.ids, metric=a.metric, minimize=a.minimize),
                 "params side by side (differences first, best values marked) and charts")
    p.add_argument("ids", nargs="+", metavar="ID", help="two or more run ids")
    p.add_argument("--metric", help="the metric the charts relate params to (default: the one most runs have)")
    p.add_argument("--minimize", action="append", metavar="METRIC",
                   help="a metric where lower is better (repeatable; default: names with loss, error, mse ...)")
    add_json_flag(p)

    p = add_verb(verbs, "lineage", lambda a, c: _runs().lineage(a.ref),
                 "runs that used a data version (train@3), or a run's inputs and outputs")
    p.add_argument("ref", help="a data reference (NAME@VERSION) or a run id")
    add_json_flag(p)

    from ._curate_cli import register_curation

    register_curation(verbs)

    p = add_verb(verbs, "export", _export, "write every run to a JSON Lines file, or to an MLflow server (--mlflow)")
    p.add_argument("file", nargs="?", help="e.g. runs.jsonl")
    p.add_argument("--mlflow", metavar="URI", help="an MLflow tracking server, e.g. http://127.0.0.1:5000")
    p.add_argument("--experiment", help="the MLflow experiment to write to (default: the project folder's name)")
    add_json_flag(p)

    p = add_verb(verbs, "import", _import, "add runs from an exported file, an MLflow server, W&B offline runs "
                 "or DVC experiments")
    p.add_argument("file", nargs="?", help="a file written by `mlnb runs export`")
    p.add_argument("--mlflow", metavar="URI", help="an MLflow tracking server, e.g. http://127.0.0.1:5000")
    p.add_argument("--experiment", action="append", help="with --mlflow: only this experiment (repeatable)")
    p.add_argument("--wandb-dir", metavar="DIR", help="a W&B folder holding offline-run-* folders (e.g. wandb/)")
    p.add_argument("--dvc-exp", action="store_true", help="the experiments of this repository's `dvc exp`")
    add_json_flag(p)


def _one_source(args: argparse.Namespace, verb: str, options: tuple[str, ...]) -> str:
    given = [o for o in ("file", *options) if getattr(args, o.replace("-", "_"), None)]
    if len(given) != 1:
        named = " or ".join(["FILE", *(f"--{o}" for o in options)])
        raise UsageError(f"`runs {verb}` needs exactly one of {named}"
                         + (f" (got {', '.join(given)})" if given else ""))
    return given[0]


def _export(args: argparse.Namespace, ctx: Context) -> Any:
    if _one_source(args, "export", ("mlflow",)) == "mlflow":
        return _runs().export_mlflow(args.mlflow, experiment=args.experiment)
    if args.experiment:
        raise UsageError("--experiment goes with --mlflow")
    return _runs().export(args.file)


def _import(args: argparse.Namespace, ctx: Context) -> Any:
    source = _one_source(args, "import", ("mlflow", "wandb-dir", "dvc-exp"))
    if args.experiment and source != "mlflow":
        raise UsageError("--experiment goes with --mlflow")
    if source == "mlflow":
        return _runs().import_mlflow(args.mlflow, experiments=args.experiment)
    if source == "wandb-dir":
        return _runs().import_wandb(args.wandb_dir)
    if source == "dvc-exp":
        return _runs().import_dvc_exp()
    return _runs().import_(args.file)
