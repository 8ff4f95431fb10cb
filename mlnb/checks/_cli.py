"""``mlnb schema infer`` / ``validate`` / ``drift`` (and the same ``%mlops`` verbs).

DATA, REF and CUR are a file (parquet, csv ...), a parquet folder, a dataset reference such as
``train@1`` (needs a project), or in a notebook the name of a DataFrame variable.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..cli import Context, add_json_flag, add_verb
from ..errors import NotFound, UsageError


def _source(spec: str, ctx: Context, prefer_path: bool = False) -> Any:
    from ._inputs import resolve_source

    return resolve_source(spec, ctx.shell, prefer_path=prefer_path)


def writable_target(path: str | None, option: str, folders_made: bool = False) -> None:
    """Refuse an output path that is a folder, or whose folder is missing (unless the writer makes
    folders), before any work is done."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path} is a folder: give the name of the file to write in it")
    if not folders_made and not target.parent.is_dir():
        raise NotFound(f"{option} {path}: there is no folder {target.parent}: create it first or choose another path")


def parse_thresholds(texts: list[str] | None) -> dict[str, float]:
    """``--threshold COLUMN=VALUE`` (repeatable) as a dict; a value must be a number >= 0."""
    thresholds: dict[str, float] = {}
    for text in texts or []:
        name, sep, raw = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"invalid --threshold {text!r}: write COLUMN=VALUE or METRIC=VALUE, e.g. --threshold age=0.2")
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(f"invalid --threshold {text!r}: {raw!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"invalid --threshold {text!r}: the value must be a finite number >= 0")
        thresholds[name.strip()] = value
    return thresholds


def whole_number(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _infer(args: argparse.Namespace, ctx: Context) -> Any:
    from .schema import infer_schema

    schema = infer_schema(_source(args.data, ctx, prefer_path=True), max_categories=args.max_categories, strict=args.strict)
    if not args.output:
        return schema
    from .._display import Record

    writable_target(args.output, "-o", folders_made=True)
    path = schema.save(args.output)
    return Record({"schema": str(path), "columns": len(schema.columns), "strict": schema.strict},
                  title=f"Wrote schema of {len(schema.columns)} columns")


def _validate(args: argparse.Namespace, ctx: Context) -> Any:
    from .schema import load_schema

    schema = load_schema(args.schema)
    if ctx.shell is None:  # a small file that passes: answered without importing pandas
        from ._validate_fast import validate_fast

        fast = validate_fast(schema, args.data)
        if fast is not None:
            return fast
    return schema.validate(_source(args.data, ctx, prefer_path=True), max_examples=args.max_examples)


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _drift(args: argparse.Namespace, ctx: Context) -> Any:
    from ._drift import drift

    options: dict[str, Any] = {}
    if args.alpha is not None:
        options["alpha"] = None if args.alpha <= 0 else args.alpha
    if args.threshold:
        options["thresholds"] = parse_thresholds(args.threshold)
    writable_target(args.html, "--html")
    if args.dask:
        from ._dask import on_cluster

        with on_cluster(args.dask, [args.ref, args.cur]) as (ref, cur):
            report = drift(ref, cur, columns=_columns(args.columns), **options)
    else:
        report = drift(_source(args.ref, ctx, prefer_path=True), _source(args.cur, ctx, prefer_path=True),
                       columns=_columns(args.columns), **options)
    if args.html:
        report.save_html(args.html)
    return report


def register(sub: Any) -> None:
    parser = add_verb(sub, "schema", _help, "infer a data schema (YAML) to validate new data against")
    verbs = parser.add_subparsers(title="schema commands", metavar="VERB", parser_class=type(parser))
    p = add_verb(verbs, "infer", _infer, "infer dtypes, nullability, ranges, allowed values, uniqueness")
    p.add_argument("data", help="file, parquet folder, dataset reference (train@1) or notebook DataFrame")
    p.add_argument("-o", "--output", help="write the schema here (YAML); without it, print it")
    p.add_argument("--max-categories", type=whole_number, default=20,
                   help="string columns with at most this many distinct values get 'allowed' (default 20)")
    p.add_argument("--strict", action="store_true", help="columns not in the schema are failures")

    p = add_verb(sub, "validate", _validate, "check data against a schema; exits 1 when a check fails")
    p.add_argument("data", help="file, parquet folder, dataset reference (train@1) or notebook DataFrame")
    p.add_argument("--schema", required=True, help="schema YAML written by `schema infer`")
    p.add_argument("--max-examples", type=whole_number, default=100, help="failure examples kept per check (all are counted)")
    add_json_flag(p)

    p = add_verb(sub, "drift", _drift, "compare a reference with current data; exits 1 on drift")
    p.add_argument("ref", help="reference: file, parquet folder, saved profile (.npz), dataset reference "
                               "or notebook DataFrame")
    p.add_argument("cur", help="current data, same forms")
    p.add_argument("--columns", help="comma-separated columns to compare (default: all)")
    p.add_argument("--alpha", type=float, help="significance level after correction (default 0.05; 0: effect size only)")
    p.add_argument("--threshold", action="append", metavar="COLUMN=VALUE",
                   help="effect-size threshold of a column (or metric: psi=0.25); repeatable")
    p.add_argument("--html", metavar="OUT", help="also write a standalone HTML report")
    p.add_argument("--dask", metavar="SCHEDULER",
                   help="summarise REF and CUR (parquet files or folders the workers can read) on a Dask "
                        "cluster, e.g. tcp://scheduler:8786; needs mlnb[dask]")
    add_json_flag(p)


def _help(args: argparse.Namespace, ctx: Context) -> None:
    from ..cli import build_parser

    build_parser(ctx.prog).parse_args(["schema", "--help"])
