"""``mlnb monitor ...`` (and ``%mlops monitor ...``): the ``monitor`` verb group and its ``report`` verb.

Other monitoring verbs (rules, checks, the exporter) join the same group through
:func:`mlnb.cli.verb_group`, whichever module registers first.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import Context, add_json_flag, add_verb, verb_group

GROUP_HELP = "watch models in production: reports, rules, alerts"


def register(sub: Any) -> None:
    verbs = verb_group(sub, "monitor", GROUP_HELP)
    p = add_verb(verbs, "report", _report,
                 "a model's prediction log window by window: performance (realized and estimated), drift, "
                 "schema, latency; exit 1 when the latest window alerts")
    p.add_argument("model", help="the model (NAME or NAME@VERSION: whose training profile is the reference)")
    p.add_argument("--window", default="1D", help="a period (1D, 6h, 30min) or a row count (10000); default 1D")
    p.add_argument("--reference", default="training",
                   help="'training' (the profile kept at registration, default) or a data reference such as train@2")
    p.add_argument("--start", help="first time included (e.g. 2026-11-01)")
    p.add_argument("--end", help="first time left out")
    p.add_argument("--baseline", default="auto",
                   help="windows that calibrate the bands and the estimate: auto (the first quarter), N (the first N) "
                        "or none")
    p.add_argument("--task", choices=["classification", "regression"], help="default: inferred from the log")
    p.add_argument("--html", metavar="FILE", help="also write the report as a standalone HTML page")
    add_json_flag(p)


def _baseline(text: str) -> Any:
    if text.lower() == "none":
        return None
    return int(text) if text.isdigit() else text


def _report(args: argparse.Namespace, ctx: Context) -> Any:
    from ..checks._cli import writable_target
    from ._report import report

    writable_target(args.html, "--html")
    result = report(args.model, window=args.window, reference=args.reference, start=args.start, end=args.end,
                    baseline=_baseline(args.baseline), task=args.task)
    if args.html:
        result.save_html(args.html)
    return result
