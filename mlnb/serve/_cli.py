"""``mlnb deploy ...`` / ``mlnb serve ...`` (and ``%mlops deploy ...``): thin verbs over :mod:`mlnb.serve`."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import add_json_flag, add_verb
from ..errors import UsageError


def register(sub: Any) -> None:
    p = add_verb(sub, "deploy", _deploy,
                 "route a model's traffic: --to, --canary/--traffic, --ab/--key, --shadow, --rollback; "
                 "`deploy history MODEL` lists the routings")
    p.add_argument("model", help="the model (or `history`, followed by the model)")
    p.add_argument("history_of", nargs="?", metavar="MODEL", help=argparse.SUPPRESS)
    p.add_argument("--to", help="one target at 100%% (an alias or a version number); blue-green is a switch of it")
    p.add_argument("--canary", help="the canary's target; the stable arm is --to or the one live arm in force")
    p.add_argument("--traffic", help="the canary's share in percent (with --canary), or A/B shares (70,30)")
    p.add_argument("--ab", help="live targets sharing the traffic, e.g. champion,challenger")
    p.add_argument("--key", help="a request field that keeps each of its values on one arm (sticky)")
    p.add_argument("--shadow", help="targets that get copies of each request (answers logged, not returned)")
    p.add_argument("--rollback", action="store_true", help="restore the previous routing (a second one goes further back)")
    p.add_argument("--reason", help="why: recorded in the history")
    p.add_argument("--target", choices=("kserve", "seldon", "bentoml"),
                   help="write manifests for the routing in force (after any change above) instead of only showing it")
    p.add_argument("-o", "--out", default="deploy", help="folder for --target's files (default: deploy)")
    p.add_argument("--trusted", action="store_true",
                   help="with --target: allow pickle versions (their server unpickles them: runs their code)")
    add_json_flag(p)

    p = add_verb(sub, "serve", _serve, "serve a model's routing over HTTP (KServe V1, Open Inference V2); "
                 "follows `mlnb deploy` changes live")
    p.add_argument("model")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--token", help="require Authorization: Bearer TOKEN (default: $MLNB_SERVE_TOKEN when set)")
    p.add_argument("--poll", type=float, default=0.25, help="seconds between looks at the registry (default 0.25)")
    p.add_argument("--max-body", type=int, default=4 * 1024 * 1024, help="largest request body in bytes (default 4 MiB)")
    p.add_argument("--no-log", action="store_true", help="do not write the prediction log (.mlnb/predictions/)")
    p.add_argument("--monitor-every", default="60s",
                   help="check the model's alert rules (monitoring.yaml) this often in the background (default 60s; 0: off)")
    p.add_argument("--batch-max", type=int, default=64,
                   help="most rows in one predict call when concurrent requests are batched (default 64)")
    p.add_argument("--batch-wait-ms", type=float, default=2.0,
                   help="longest wait for a batch to fill, in ms (default 2; none when the arm is idle)")
    p.add_argument("--no-batching", action="store_true", help="one predict call per request")


def _deploy(args: Any, ctx: Any) -> Any:
    from . import _deploy as api

    if args.model == "history" and args.history_of:
        return api.deploy_history(args.history_of)
    if args.history_of:
        raise UsageError(f"unexpected argument {args.history_of!r}: `mlnb deploy MODEL --to TARGET` or "
                         "`mlnb deploy history MODEL`")
    options = (args.to, args.canary, args.traffic, args.ab, args.key, args.shadow)
    if not args.rollback and all(o is None for o in options):
        shown = api.routing(args.model)  # no change asked: the routing in force
    else:
        shown = api.deploy(args.model, to=args.to, canary=args.canary, traffic=args.traffic, ab=args.ab,
                           key=args.key, shadow=args.shadow, rollback=args.rollback, reason=args.reason or "")
    if args.target is None:
        return shown
    from .._display import Table
    from ._manifests import manifests

    files = manifests(shown.routing, args.target, args.out, trusted=args.trusted)
    return Table([{"file": str(f)} for f in files], ["file"],
                 title=f"{args.target} manifests for {shown.title} (push the model objects first: mlnb data push)")


def _serve(args: Any, ctx: Any) -> Any:
    import os

    from ..monitor._rules import parse_duration
    from ._server import serve

    every = parse_duration(args.monitor_every, "--monitor-every")
    batching = {"batching": not args.no_batching, "batch_max": args.batch_max, "batch_wait_ms": args.batch_wait_ms}

    if ctx.shell is not None:  # a notebook: its event loop cannot host the server, a child process can
        from ._process import start

        return start(args.model, port=args.port, host=args.host, token=args.token, poll=args.poll,
                     log=not args.no_log, monitor_every=every, **batching)
    serve(args.model, port=args.port, host=args.host, token=args.token or os.environ.get("MLNB_SERVE_TOKEN") or None,
          poll=args.poll, max_body=args.max_body, log=not args.no_log, monitor_every=every, **batching)
