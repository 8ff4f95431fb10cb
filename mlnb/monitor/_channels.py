"""Where alerts go: a webhook (JSON POST) and Prometheus Alertmanager (``POST /api/v2/alerts``).

Channels are listed in ``monitoring.yaml``::

    channels:
      - name: ops
        type: webhook
        url: https://hooks.example.com/mlnb
        retries: 3          # tries after the first, waiting backoff, 2*backoff, 4*backoff ... seconds
        backoff: 0.5
        timeout: 5
      - name: am
        type: alertmanager
        url: http://localhost:9093
        hold: 24h           # a firing alert's endsAt: re-sent at every check, so it stays up while firing

Each alert keeps one delivery entry per channel and event (firing, resolved). A delivery that
fails after its retries is recorded as failed, with one line saying why, and tried again at the
next check until it is sent: never lost. Sending runs in the check (a command, or ``mlnb serve``'s
background monitor thread), never on a request path.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import MlnbError, UsageError, shown
from . import _alerts
from ._rules import FILE, config_path, config_section, editing, parse_duration, remove_named

log = logging.getLogger("mlnb.monitor")
KINDS = ("webhook", "alertmanager")


@dataclass(frozen=True)
class Channel:
    """One channel of ``monitoring.yaml``."""

    name: str
    type: str
    url: str
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 5.0
    hold: float = 86400.0

    def __str__(self) -> str:
        return f"channel {self.name}: {self.type} on {self.where} in {FILE}"

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "type": self.type, "host": self.where})

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": str(self)}

    @property
    def where(self) -> str:
        """The URL's host (never its path or credentials, which may hold a secret token)."""
        return urlsplit(self.url).hostname or "?"

    def post(self, path: str, body: Any) -> tuple[str | None, int]:
        """POST ``body`` as JSON, retrying with exponential back-off; (error line or None, attempts)."""
        data = json.dumps(body, allow_nan=False, default=str).encode()
        error = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url.rstrip("/") + path if path else self.url, data=data,
                                             headers={"Content-Type": "application/json",
                                                      "User-Agent": "mlnb-monitor"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    answer.read()
                return None, attempt + 1
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code} {exc.reason}"
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    return f"{self.type} {self.name} ({self.where}) refused: {error}", attempt + 1  # retrying won't help
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = getattr(reason, "strerror", None) or str(reason)
        return f"{self.type} {self.name} ({self.where}): {error} after {self.retries + 1} attempts", self.retries + 1


def _channel(raw: dict[str, Any], i: int) -> Channel:
    kind = str(raw.get("type", ""))
    if kind not in KINDS:
        raise ValueError(f"type {kind!r} is not one of {', '.join(KINDS)}")
    if not str(raw.get("url", "")).startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    channel = Channel(name=str(raw.get("name") or f"{kind}-{i + 1}"), type=kind, url=str(raw["url"]),
                      retries=int(raw.get("retries", 3)), backoff=float(raw.get("backoff", 0.5)),
                      timeout=float(raw.get("timeout", 5)), hold=parse_duration(raw.get("hold", "24h"), "hold"))
    if not (0 <= channel.retries <= 10 and 0 <= channel.backoff <= 60 and 0 < channel.timeout <= 300):
        raise ValueError("retries must be 0 to 10, backoff 0 to 60 s, timeout above 0 and at most 300 s")
    return channel


def load_channels(root: Any) -> list[Channel]:
    """The channels of ``monitoring.yaml``, each checked."""
    out = []
    for i, raw in enumerate(config_section(root, "channels")):
        try:
            out.append(_channel(raw, i))
        except (ValueError, TypeError, MlnbError) as exc:
            raise MlnbError(f"{config_path(root)}: channel {i + 1} is not valid ({exc}): fix it by hand") from None
    return out


def add_channel(name: str, type: str, url: str, retries: int = 3, backoff: float = 0.5,  # noqa: A002
                timeout: float = 5.0) -> Channel:
    """Add a webhook or Alertmanager channel to ``monitoring.yaml``; nothing changes when refused.

    >>> mlnb.monitor.add_channel("am", "alertmanager", "http://localhost:9093")  # doctest: +SKIP
    """
    raw = {"name": name, "type": type, "url": url, "retries": retries, "backoff": backoff, "timeout": timeout}
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", str(name)):
        raise UsageError(f"channel name {shown(str(name), 40)}: use letters, digits, '_', '-' or '.'")
    try:
        channel = _channel(raw, 0)
    except (ValueError, TypeError, MlnbError) as exc:
        raise UsageError(f"channel {name} refused: {exc}") from None
    with editing() as (root, data):
        if any(c.name == name for c in load_channels(root)):
            raise UsageError(f"a channel named {name} exists: choose another name, or remove it first")
        if data.get("channels") is None:
            data["channels"] = []
        data["channels"].append(raw)
    return channel


def remove_channel(name: str) -> Channel:
    """Remove the channel ``name``; its undelivered entries are marked dropped at the next check."""
    return _channel(remove_named("channels", name, "mlnb monitor channel list"), 0)


def list_channels() -> Any:
    """The channels of ``monitoring.yaml``: name, type, host (never the URL's path: it may hold a token)."""
    from .._display import Table
    from ._rules import _project_root

    rows = [{"name": c.name, "type": c.type, "host": c.where, "retries": c.retries, "backoff": c.backoff,
             "timeout": c.timeout} for c in load_channels(_project_root())]
    return Table(rows, ["name", "type", "host", "retries", "backoff", "timeout"], title=f"channels in {FILE}",
                 empty="no channels: `mlnb monitor channel add NAME --webhook URL` adds one")


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _labels(alert: dict[str, Any]) -> dict[str, str]:
    return {"alertname": alert["rule"], "model": alert["model"], "severity": alert["severity"], "source": "mlnb"}


def _annotations(alert: dict[str, Any]) -> dict[str, str]:
    value = "no value" if alert["value"] is None else f"{alert['value']:.6g}"
    return {"summary": f"{alert['model']}: {alert['expression']} (value {value}, window {alert['window']})",
            "expression": alert["expression"], "value": value, "window": alert["window"],
            "threshold": "" if alert["threshold"] is None else f"{alert['threshold']:g}"}


def webhook_body(alert: dict[str, Any], event: str) -> dict[str, Any]:
    """What a webhook receives for one alert event."""
    fields = {k: v for k, v in alert.items() if k != "deliveries"}
    return {"status": event, "alert": fields, "labels": _labels(alert), "annotations": _annotations(alert),
            "startsAt": _iso(alert["started_at"]),
            "endsAt": _iso(alert["resolved_at"]) if alert["resolved_at"] else None}


def alertmanager_item(alert: dict[str, Any], now: float, hold: float) -> dict[str, Any]:
    """One alert in Alertmanager's API v2 form; a firing one ends ``hold`` from now unless re-sent."""
    ends = alert["resolved_at"] if alert["resolved_at"] else now + hold
    return {"labels": _labels(alert), "annotations": _annotations(alert), "startsAt": _iso(alert["started_at"]),
            "endsAt": _iso(ends)}


@dataclass
class Sent:
    """What one check's sending did: counts and the error lines of failed deliveries."""

    sent: int = 0
    failed: int = 0
    errors: list[str] | None = None


def deliver(project: Any, model: str, channels: Sequence[Channel], now: float | None = None) -> Sent:
    """Send every delivery of ``model``'s alerts not sent yet (and re-send firing alerts to
    Alertmanager); record each outcome. A channel that fails is not tried again in this check."""
    now = time.time() if now is None else now
    by_name = {c.name: c for c in channels}
    rows = _alerts.undelivered(project, model)
    entries = {r.id: json.loads(r.deliveries) for r in rows}
    alerts = {r.id: _alerts.alert_dict(r) for r in rows}
    outcome = Sent(errors=[])
    down: dict[str, str] = {}
    for channel in channels:
        todo = [(aid, e) for aid, es in entries.items() for e in es if e["channel"] == channel.name and e["state"] in ("pending", "failed")]
        if channel.type == "alertmanager":
            firing = [_alerts.alert_dict(r) for r in _alerts.firing_rows(project, model)]
            items = {a["id"]: a for a in firing} | {aid: alerts[aid] for aid, _ in todo}
            if not items:
                continue
            error, attempts = channel.post("/api/v2/alerts", [alertmanager_item(a, now, channel.hold) for a in items.values()])
            results = [(e, error, attempts) for _, e in todo]
            if error and not todo:
                down[channel.name] = error  # only a refresh failed: say so
        else:
            results = []
            for aid, e in todo:
                if channel.name in down:
                    results.append((e, f"not tried: {down[channel.name]}", 0))
                    continue
                error, attempts = channel.post("", webhook_body(alerts[aid], e["event"]))
                if error:
                    down[channel.name] = error
                results.append((e, error, attempts))
        for e, error, attempts in results:
            e.update(state="failed" if error else "sent", attempts=e["attempts"] + attempts, at=now, error=error)
            if error:
                outcome.failed += 1
            else:
                outcome.sent += 1
        if channel.name in down:
            log.warning("%s", down[channel.name])
    for aid, es in entries.items():  # channels removed from monitoring.yaml: said once, not retried
        for e in es:
            if e["channel"] not in by_name and e["state"] in ("pending", "failed"):
                e.update(state="dropped", error=f"channel {e['channel']} is no longer in monitoring.yaml: not sent")
    _alerts.save_deliveries(project, {aid: es for aid, es in entries.items()})
    outcome.errors = list(dict.fromkeys(down.values()))
    return outcome
