"""``mlnb monitor rule ...``, ``mlnb monitor check``, ``mlnb alerts`` (and ``%mlops ...``): thin verbs
over :mod:`mlnb.monitor`'s rules, check and alerts."""

from __future__ import annotations

from typing import Any

from ..cli import add_json_flag, add_verb


def _monitor():  # type: ignore[no-untyped-def]
    from .. import monitor

    return monitor


def add_monitor_verbs(verbs: Any) -> None:
    """``rule add|list|remove`` and ``check`` under the ``monitor`` verb group."""
    rule = add_verb(verbs, "rule", lambda a, c: _monitor().list_rules(),
                    "alert rules kept in monitoring.yaml: add, list, remove")
    rule_verbs = rule.add_subparsers(title="rule commands", metavar="VERB", parser_class=type(rule))
    p = add_verb(rule_verbs, "add", lambda a, c: _monitor().add_rule(
        a.when, model=a.model, window=a.window, severity=a.severity, cooldown=a.cooldown, name=a.name),
        'add a rule: "accuracy < 0.85", "drift.share > 0.3", "latency.p99 > 200", "accuracy outside band"')
    p.add_argument("when", help='METRIC < NUMBER, METRIC > NUMBER (also <=, >=) or "METRIC outside band"')
    p.add_argument("--model", required=True, help="the model whose log the rule watches")
    p.add_argument("--window", default="1D", help="report window: a period (1D, 6h) or a row count (default 1D)")
    p.add_argument("--severity", default="warning", help="warning (default) or critical")
    p.add_argument("--cooldown", default="0s", help="after it resolves, it fires again only after this long (e.g. 1h)")
    p.add_argument("--name", help="the rule's name (default: MODEL.METRIC)")
    add_json_flag(p)
    p = add_verb(rule_verbs, "list", lambda a, c: _monitor().list_rules(a.model), "the rules of monitoring.yaml")
    p.add_argument("--model", help="one model's rules only")
    add_json_flag(p)
    p = add_verb(rule_verbs, "remove", lambda a, c: _monitor().remove_rule(a.name),
                 "remove a rule by name (its firing alert resolves at the next check)")
    p.add_argument("name")
    add_json_flag(p)

    channel = add_verb(verbs, "channel", lambda a, c: _monitor().list_channels(),
                       "alert channels kept in monitoring.yaml: add, list, remove")
    channel_verbs = channel.add_subparsers(title="channel commands", metavar="VERB", parser_class=type(channel))
    p = add_verb(channel_verbs, "add", _add_channel, "add a channel: --webhook URL or --alertmanager URL")
    p.add_argument("name")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--webhook", metavar="URL", help="POST each alert event as JSON to URL")
    where.add_argument("--alertmanager", metavar="URL", help="Alertmanager's base URL (POST /api/v2/alerts)")
    p.add_argument("--retries", type=int, default=3, help="tries after the first (default 3)")
    p.add_argument("--backoff", type=float, default=0.5, help="first wait in seconds, doubled each retry (default 0.5)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per attempt (default 5)")
    add_json_flag(p)
    p = add_verb(channel_verbs, "list", lambda a, c: _monitor().list_channels(), "the channels of monitoring.yaml")
    add_json_flag(p)
    p = add_verb(channel_verbs, "remove", lambda a, c: _monitor().remove_channel(a.name), "remove a channel by name")
    p.add_argument("name")
    add_json_flag(p)

    p = add_verb(verbs, "check", lambda a, c: _monitor().check(a.model, send=not a.no_send),
                 "evaluate a model's rules on the latest window: fire / resolve alerts, notify channels "
                 "(exit 1 while an alert is firing)")
    p.add_argument("model")
    p.add_argument("--no-send", action="store_true", help="record alerts but do not notify the channels")
    add_json_flag(p)


def _add_channel(args: Any, ctx: Any) -> Any:
    kind, url = ("webhook", args.webhook) if args.webhook else ("alertmanager", args.alertmanager)
    return _monitor().add_channel(args.name, kind, url, retries=args.retries, backoff=args.backoff,
                                  timeout=args.timeout)


def add_alerts_verb(sub: Any) -> None:
    """The top-level ``alerts`` verb."""
    p = add_verb(sub, "alerts", lambda a, c: _monitor().alerts(a.model, all=a.all),
                 "firing alerts and those resolved in the last 7 days (--all: every alert)")
    p.add_argument("--model", help="one model's alerts only")
    p.add_argument("--all", action="store_true", help="every alert ever recorded")
    add_json_flag(p)


def register(sub: Any) -> None:
    """Until the ``monitor`` verb group exists elsewhere: make it, with the alert verbs."""
    parser = add_verb(sub, "monitor", lambda a, c: _monitor().list_rules(),
                      "watch models in production: rules, checks and alerts")
    add_monitor_verbs(parser.add_subparsers(title="monitor commands", metavar="VERB", parser_class=type(parser)))
    add_alerts_verb(sub)
