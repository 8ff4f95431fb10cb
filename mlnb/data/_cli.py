"""``mlnb data ...`` / ``%mlops data ...``: thin verbs over :mod:`mlnb.data`."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import Context, add_json_flag, add_verb


def _data():  # type: ignore[no-untyped-def]
    from .. import data

    return data


def register(sub: Any) -> None:
    parser = add_verb(sub, "data", _help, "version datasets and models with DVC")
    verbs = parser.add_subparsers(title="data commands", metavar="VERB", parser_class=type(parser))

    p = add_verb(verbs, "add", _add, "track a file or folder with DVC and register a new version")
    p.add_argument("path", help="file or folder inside the project")
    p.add_argument("--name", help="dataset name (default: the file or folder name)")
    p.add_argument("-m", "--message", default="", help="what this version is")

    p = add_verb(verbs, "list", _list, "one row per dataset")
    add_json_flag(p)

    p = add_verb(verbs, "status", _status,
                 "which version each working copy holds, and whether it changed since")
    add_json_flag(p)

    p = add_verb(verbs, "log", lambda a, c: _data().log(a.name), "every version of a dataset, newest first")
    p.add_argument("name")
    add_json_flag(p)

    p = add_verb(verbs, "show", lambda a, c: _data().resolve(a.ref), "one version's details")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME@latest or a hash prefix")
    add_json_flag(p)

    p = add_verb(verbs, "diff", lambda a, c: _data().diff(a.a, a.b), "what changed between two versions")
    p.add_argument("a", help="e.g. train@1")
    p.add_argument("b", help="e.g. train@2")
    add_json_flag(p)

    p = add_verb(verbs, "schema", lambda a, c: _data().schema(a.ref), "a version's columns: type, nulls, statistics")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME@latest or a hash prefix")
    add_json_flag(p)

    p = add_verb(verbs, "preview", lambda a, c: _data().preview(a.ref, rows=a.rows),
                 "a version's first rows (read from the head of the cached file)")
    p.add_argument("ref", help="NAME, NAME@VERSION, NAME@latest or a hash prefix")
    p.add_argument("-n", "--rows", type=int, default=10, help="how many rows (default: 10)")
    add_json_flag(p)

    p = add_verb(verbs, "checkout", lambda a, c: _data().checkout(a.ref, force=a.force),
                 "put a version in the working copy (its .dvc file follows)")
    p.add_argument("ref")
    p.add_argument("--force", action="store_true", help="discard changes not saved as a version")

    for verb, what in (("push", "send every version to the DVC remote"), ("pull", "fetch every version from the DVC remote")):
        p = add_verb(verbs, verb, _transfer(verb), what)
        p.add_argument("-r", "--remote", help="remote name (default: the project's default remote)")


def _add(args: argparse.Namespace, ctx: Context) -> Any:
    from ._add_fast import add_unchanged

    unchanged = add_unchanged(args.path, args.name)
    if unchanged is not None:
        return unchanged
    from ._track_fast import add_new

    new = add_new(args.path, args.name, args.message)
    return _data().add(args.path, name=args.name, message=args.message) if new is None else new


def _list(args: argparse.Namespace, ctx: Context) -> Any:
    from ._list_fast import list_datasets_fast

    fast = list_datasets_fast()
    return _data().list_datasets() if fast is None else fast


def _status(args: argparse.Namespace, ctx: Context) -> Any:
    from ._status_fast import status_fast

    fast = status_fast()
    return _data().status() if fast is None else fast


def _transfer(verb: str):  # type: ignore[no-untyped-def]
    return lambda a, c: getattr(_data(), verb)(remote=a.remote)


def _help(args: argparse.Namespace, ctx: Context) -> None:
    from ..cli import build_parser

    build_parser(ctx.prog).parse_args(["data", "--help"])
