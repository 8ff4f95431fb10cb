"""``mlnb push``, ``mlnb pull`` and ``mlnb sync status|resolve``."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import Context, add_json_flag, add_verb, verb_group


def _sync() -> Any:
    from .. import sync

    return sync


def register(sub: Any) -> None:
    for verb, what in (("push", "send data, models and the registry's new records to the DVC remote"),
                       ("pull", "fetch and merge what others pushed: registry records, then data and models")):
        p = add_verb(sub, verb, _transfer(verb), what)
        p.add_argument("-r", "--remote", help="DVC remote name (default: the project's default remote)")
        p.add_argument("--no-data", action="store_true", help="only the registry's records, not data and models")
        add_json_flag(p)
    verbs = verb_group(sub, "sync", "the registry shared through the DVC remote: status, conflicts")
    p = add_verb(verbs, "status", lambda a, c: _sync().status(remote=a.remote),
                 "what a push would send, what a pull would fetch, and alias conflicts with both sides")
    p.add_argument("-r", "--remote", help="DVC remote name")
    add_json_flag(p)
    p = add_verb(verbs, "use", lambda a, c: _sync().use(a.remote),
                 "make another DVC remote the one the registry is shared through (its next push sends everything)")
    p.add_argument("remote", help="DVC remote name")
    add_json_flag(p)
    p = add_verb(verbs, "resolve", _resolve, "settle an alias moved on two clones at once (recorded as an event)")
    p.add_argument("model")
    p.add_argument("alias")
    p.add_argument("--take", required=True, help="mine, theirs, or a version number of the model")
    p.add_argument("--reason", default="", help="why (kept in the alias history)")
    add_json_flag(p)


def _transfer(verb: str):  # type: ignore[no-untyped-def]
    return lambda a, c: getattr(_sync(), verb)(remote=a.remote, data=not a.no_data)


def _resolve(args: argparse.Namespace, ctx: Context) -> Any:
    return _sync().resolve(args.model, args.alias, take=args.take, reason=args.reason)
