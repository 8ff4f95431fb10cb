"""``mlnb serve MODEL``: a uvicorn server on one model's routing, following its changes live."""

from __future__ import annotations

import logging
import socket
import sys

from .._project import current_project
from ..errors import UsageError
from . import _inputs
from ._predlog import PredictionLog, log_dir
from ._records import recorded


def serve(model: str, port: int = 8080, host: str = "127.0.0.1", token: str | None = None, poll: float = 0.25,
          max_body: int = _inputs.MAX_BODY, log: bool = True, monitor_every: float = 60.0, batching: bool = True,
          batch_max: int = 64, batch_wait_ms: float = 2.0) -> None:
    """Serve ``model``'s routing over HTTP until interrupted (KServe V1 and Open Inference V2).

    Binds ``host`` (127.0.0.1 unless told otherwise; ``port`` 0 picks a free port), requires
    ``Authorization: Bearer TOKEN`` when ``token`` is given, and follows routing changes within
    ``poll`` seconds plus the time to load new models. Every answer goes to the prediction log
    (``.mlnb/predictions/MODEL/``, :func:`mlnb.serve.read_predictions`) unless ``log=False``.
    Concurrent requests to one arm share ``predict`` calls of up to ``batch_max`` rows, a request
    waiting at most ``batch_wait_ms`` for company (none when the arm is idle); ``batching=False``
    gives every request its own call. Every ``monitor_every`` seconds (0: never) a background
    thread checks the model's alert rules of ``monitoring.yaml`` (:func:`mlnb.monitor.check`).
    Prints one line when it is ready.

    >>> mlnb.serve.serve("churn", port=8080)  # doctest: +SKIP
    """
    import uvicorn

    from ..models._refs import split_ref
    from ._app import build_app
    from ._follow import Follower

    name, spec = split_ref(model)
    if spec != "latest" and "@" in model:
        raise UsageError(f"serve a model, not a version ({model!r}): the routing chooses versions "
                         f"(`mlnb deploy {name} --to {spec}`)")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: use a port number from 1 to 65535 (0 picks a free one)")
    if not 0.05 <= poll <= 10:
        raise UsageError(f"--poll {poll:g}: follow the registry every 0.05 to 10 seconds")
    if max_body < 1024:
        raise UsageError(f"--max-body {max_body}: allow at least 1024 bytes")
    if not 1 <= batch_max <= 100_000:
        raise UsageError(f"--batch-max {batch_max}: a batch holds 1 to 100,000 rows (--no-batching turns it off)")
    if not 0 <= batch_wait_ms <= 1000:
        raise UsageError(f"--batch-wait-ms {batch_wait_ms:g}: wait 0 to 1000 ms for a batch to fill")
    follower = Follower(current_project(), name)
    predlog = PredictionLog(log_dir(follower.project, name), name) if log else None
    app = build_app(follower, token=token, poll=poll, max_body=max_body, predlog=predlog,
                    batch_max=batch_max if batching else 1, batch_wait=batch_wait_ms / 1000)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # before the ready line: a client that read it is queued, never refused
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port or --host") from None
    _log_to_stderr()
    bound = sock.getsockname()[1]
    live = follower.current
    print(f"mlnb: serving {name} (routing #{live.seq}: {_arms(live)}) on http://{host}:{bound} "
          f"- POST /v1/models/{name}:predict, /v2/models/{name}/infer", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    watcher = _watch(follower.project, name, monitor_every)
    where = f"[{host}]" if ":" in host else host
    try:
        with recorded(follower.project, name, f"http://{where}:{bound}"):  # `mlnb doctor` finds and pings it
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        if watcher is not None:
            watcher.stop()


def _watch(project, model: str, every: float):  # type: ignore[no-untyped-def]
    """The background thread checking the model's alert rules, or None when ``every`` is 0."""
    if not every:
        return None
    from ..monitor._check import Watcher

    return Watcher(project, model, every).start()


def _arms(live) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(f"{a.label}=@{a.version.version} {'shadow' if a.shadow else f'{a.weight:g}%'}"
                     for a in (*live.arms, *live.shadows))


def _log_to_stderr() -> None:
    logger = logging.getLogger("mlnb.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("mlnb: %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
