"""``mlnb runs rename|note|experiment|delete|restore|archive|history`` and the listing's
``--experiment`` / ``--archived`` / ``--deleted`` / ``--all``: thin verbs over :mod:`mlnb.runs._curate`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..cli import add_json_flag, add_verb


def _runs():  # type: ignore[no-untyped-def]
    from .. import runs

    return runs


def lifecycle_options(p: argparse.ArgumentParser, default: Callable[[Any], Any]) -> None:
    """The listing's experiment filter and which lifecycle it lists (active runs by default)."""
    p.add_argument("--experiment", metavar="NAME", default=default(None), help="only the runs of this experiment")
    group = p.add_mutually_exclusive_group()
    for flag, value, what in (("--archived", "archived", "only archived runs"),
                              ("--deleted", "deleted", "only deleted runs (restore one with `runs restore ID`)"),
                              ("--all", "all", "every run: active, archived and deleted")):
        group.add_argument(flag, dest="lifecycle", action="store_const", const=value, default=default("active"),
                           help=what)


def register_curation(verbs: Any) -> None:
    p = add_verb(verbs, "rename", lambda a, c: _runs().rename(a.id, a.name), "give a run a new name")
    p.add_argument("id", help="a run id or a unique prefix of 4+ characters")
    p.add_argument("name", help="the new name")
    add_json_flag(p)

    p = add_verb(verbs, "note", lambda a, c: _runs().note(a.id, a.text), "set a run's note (\"\" clears it)")
    p.add_argument("id", help="a run id or a unique prefix of 4+ characters")
    p.add_argument("text", help="the note, e.g. \"diverged: lr too high\"")
    add_json_flag(p)

    p = add_verb(verbs, "experiment", lambda a, c: _runs().set_experiment(a.id, a.name),
                 "move a run to an experiment (no NAME: out of any)")
    p.add_argument("id", help="a run id or a unique prefix of 4+ characters")
    p.add_argument("name", nargs="?", help="the experiment")
    add_json_flag(p)

    for verb, what in (("delete", "soft-delete runs: hidden from `runs list`, kept (`runs restore` undoes it)"),
                       ("restore", "make deleted or archived runs active again"),
                       ("archive", "put runs away: hidden from `runs list` (--archived lists them), not deleted")):
        p = add_verb(verbs, verb, _bulk(verb), what)
        p.add_argument("ids", nargs="+", metavar="ID", help="run ids or unique prefixes of 4+ characters")
        add_json_flag(p)

    p = add_verb(verbs, "history", lambda a, c: _runs().history(a.id), "who renamed, noted, deleted ... a run, and when")
    p.add_argument("id", help="a run id or a unique prefix of 4+ characters")
    add_json_flag(p)


def _bulk(verb: str) -> Callable[[argparse.Namespace, Any], Any]:
    return lambda a, c: getattr(_runs(), verb)(a.ids if len(a.ids) > 1 else a.ids[0])
