"""The HTTP face of ``mlnb serve``: KServe V1 and Open Inference Protocol V2 over one routing.

Every answer names the routing, arm and version that produced it and a request id, in the body
and in headers (``x-mlnb-routing``, ``x-mlnb-arm``, ``x-mlnb-version``, ``x-request-id``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import _inputs
from ._batch import Batcher
from ._follow import Follower
from ._inputs import BadRequest
from ._live import Live, LiveArm
from ._metrics import Metrics
from ._predlog import PredictionLog
from ._shadow import Shadows, _plain

log = logging.getLogger("mlnb.serve")

#: probes that answer without the token (a load balancer's health checks carry none)
OPEN_PATHS = {"/v2/health/live", "/v2/health/ready"}


def build_app(follower: Follower, token: str | None = None, poll: float = 0.25,
              max_body: int = _inputs.MAX_BODY, predlog: PredictionLog | None = None, batch_max: int = 64,
              batch_wait: float = 0.002) -> Starlette:
    """The ASGI app serving ``follower.model``; it polls the registry every ``poll`` seconds and,
    with ``predlog``, logs every answer off the request path. Concurrent requests to one arm share
    ``predict`` calls of up to ``batch_max`` rows (1: no batching; :mod:`mlnb.serve._batch`)."""
    shadows = Shadows(predlog, batcher=Batcher(batch_max, batch_wait))  # queues of their own: never mixed with live
    model = follower.model
    metrics = Metrics(model)
    batcher = Batcher(batch_max, batch_wait, observe=metrics.batched)

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        shadows.start()
        if predlog is not None:
            predlog.start()
        task = asyncio.get_running_loop().create_task(_follow(follower, poll))
        yield
        task.cancel()
        await shadows.stop()
        if predlog is not None:
            predlog.stop()

    async def v1_predict(request: Request) -> JSONResponse:
        rid, start = _request_id(request), time.perf_counter()
        live = follower.current  # this request's routing, whatever happens meanwhile
        try:
            _own(request, model)
            data = _inputs.parse_json(await _body(request, max_body))
            rows = _inputs.v1_rows(data, live.arms[0].columns, live.routing.key)
            arm, frame, out = await _predict(live, rows, rid, shadows, batcher)
        except BadRequest as exc:
            return _refuse(exc, rid, metrics)
        _done(metrics, predlog, "v1", start, rid, live, arm, frame, out)
        body = {"predictions": _plain(out), "model_name": model, "model_version": str(arm.version.version),
                "arm": arm.label, "routing": live.seq, "id": rid}
        return JSONResponse(body, headers=_headers(live, arm, rid))

    async def v2_infer(request: Request) -> JSONResponse:
        rid, start = _request_id(request), time.perf_counter()
        live = follower.current
        try:
            _own(request, model)
            data = _inputs.parse_json(await _body(request, max_body))
            rid = str(data.get("id") or rid)
            arm, frame, out = await _predict(live, _inputs.v2_rows(data), rid, shadows, batcher)
        except BadRequest as exc:
            return _refuse(exc, rid, metrics)
        _done(metrics, predlog, "v2", start, rid, live, arm, frame, out)
        values = _plain(out)
        body = {"model_name": model, "model_version": str(arm.version.version), "id": rid,
                "parameters": {"arm": arm.label, "routing": live.seq},
                "outputs": [{"name": "predict", "shape": [len(values)], "datatype": _datatype(values),
                             "data": values}]}
        return JSONResponse(body, headers=_headers(live, arm, rid))

    async def live_probe(request: Request) -> JSONResponse:
        return JSONResponse({"live": True})

    async def ready_probe(request: Request) -> JSONResponse:
        return JSONResponse({"ready": True})

    async def model_ready(request: Request) -> JSONResponse:
        try:
            _own(request, model)
        except BadRequest as exc:
            return _refuse(exc, _request_id(request))
        return JSONResponse({"name": model, "ready": True})

    async def metadata(request: Request) -> JSONResponse:
        try:
            _own(request, model)
        except BadRequest as exc:
            return _refuse(exc, _request_id(request))
        live = follower.current
        signature = live.arms[0].version.signature or {"columns": {}}
        return JSONResponse({
            "name": model, "versions": sorted({str(v) for v in live.versions.values()}), "platform": "mlnb",
            "inputs": [{"name": c, "datatype": _inputs.V2_TYPES.get(s["dtype"], "BYTES"), "shape": [-1]}
                       for c, s in signature["columns"].items()],
            "outputs": [{"name": "predict", "datatype": "BYTES", "shape": [-1]}],
            "parameters": {"routing": live.routing.to_dict(), "resolved": live.versions,
                           "shadow_copies": {"answered": shadows.answered, "dropped": shadows.dropped,
                                             "failed": shadows.failed}}})

    routes = [
        Route("/v1/models/{model}:predict", v1_predict, methods=["POST"]),
        Route("/v1/models/{model}", model_ready, methods=["GET"]),
        Route("/v2/models/{model}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{model}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{model}", metadata, methods=["GET"]),
        Route("/v2/health/live", live_probe, methods=["GET"]),
        Route("/v2/health/ready", ready_probe, methods=["GET"]),
        Route("/metrics", metrics.endpoint(follower, shadows), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.follower, app.state.shadows = follower, shadows
    if token:
        app.add_middleware(_TokenCheck, token=token)  # type: ignore[arg-type]
    return app


class _TokenCheck:
    """``Authorization: Bearer TOKEN`` on every path but the health probes; 401 otherwise."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse({"error": "missing or wrong bearer token: send Authorization: Bearer TOKEN"},
                                        status_code=401, headers={"www-authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _follow(follower: Follower, poll: float) -> None:
    from anyio import to_thread

    while True:
        await asyncio.sleep(poll)
        try:
            await to_thread.run_sync(follower.refresh)
        except Exception:  # a registry that cannot be read for a moment: keep serving, try again
            log.exception("could not read the routing of %s; still serving routing #%s", follower.model,
                          follower.current.seq)


def _done(metrics: Metrics, predlog: PredictionLog | None, protocol: str, start: float, rid: str, live: Live,
          arm: LiveArm, frame: Any, out: Any) -> None:
    seconds = time.perf_counter() - start
    metrics.answered(arm, protocol, seconds)
    if predlog is not None:
        predlog.add(rid, live.seq, arm, frame, out, seconds)


async def _predict(live: Live, rows: list[dict[str, Any]], rid: str, shadows: Shadows,
                   batcher: Batcher) -> tuple[LiveArm, Any, Any]:
    arm = live.choose(_inputs.key_of(rows, live.routing.key))
    frame = _inputs.to_frame(arm, rows, live.routing.key)  # in the signature's column order
    try:
        out = await batcher.predict(arm, live.seq, frame)
    except Exception as exc:  # checked input the model still cannot take: this request fails, alone
        log.warning("%s failed on request %s: %s", arm.version.ref, rid, exc)
        raise BadRequest(f"{arm.version.ref} could not predict this request: {exc}", 500) from None
    for shadow in live.shadows:
        try:
            shadows.submit(shadow, _inputs.to_frame(shadow, rows, live.routing.key), rid, live.seq)
        except BadRequest as exc:  # the shadow's signature differs: its copy is skipped, the answer stands
            log.warning("shadow %s skipped request %s: %s", shadow.label, rid, exc)
    return arm, frame, out


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"the body is {int(declared):,} bytes; this server takes at most {limit:,} "
                         "(mlnb serve --max-body): send fewer rows per request", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"the body is over {limit:,} bytes (mlnb serve --max-body): send fewer rows per request",
                             413)
        chunks.append(chunk)
    return b"".join(chunks)


def _own(request: Request, model: str) -> None:
    asked = request.path_params.get("model")
    if asked != model:
        raise BadRequest(f"this server serves {model}, not {str(asked)[:80]!r}: use /v1/models/{model}:predict", 404)


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given[:64] if given and given.isprintable() else os.urandom(16).hex()  # as random as uuid4, far cheaper


def _headers(live: Live, arm: LiveArm, rid: str) -> dict[str, str]:
    return {"x-mlnb-routing": str(live.seq), "x-mlnb-arm": arm.label, "x-mlnb-version": str(arm.version.version),
            "x-request-id": rid}


def _refuse(exc: BadRequest, rid: str, metrics: Metrics | None = None) -> JSONResponse:
    if metrics is not None:
        metrics.refusal(exc.status)
    return JSONResponse({"error": str(exc), "id": rid}, status_code=exc.status, headers={"x-request-id": rid})


def _datatype(values: list[Any]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "BOOL"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"
