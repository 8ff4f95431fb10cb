"""The ``/mlnb/api/`` handlers: parse the request, call the public API, answer JSON.

No logic lives here. Each handler is ``@tornado.web.authenticated`` (a test enumerates ``ROUTES``
and checks that each one refuses a request without credentials). Registry reads run in a worker
thread so a slow query never blocks the Jupyter server.
"""

from __future__ import annotations

import asyncio
import json
import math
import mimetypes
import re
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from .._project import Project, using_project
from ..errors import MlnbError, NotAProject, NotFound, UsageError, shown
from . import _areas
from ._feed import registry_version
from ._files import Refused, disposition

MAX_PAGE = 500
#: longest run id or dataset name in a URL (the registry stores at most 255 characters)
MAX_NAME = 255


class ProjectLocator:
    """The mlnb project around the server's root folder, found again until there is one; also
    what the server allows (Jupyter's ``allow_hidden``)."""

    def __init__(self, root_dir: str, allow_hidden: bool = False) -> None:
        self.root_dir = root_dir
        self.allow_hidden = allow_hidden
        self._project: Project | None = None

    def project(self) -> Project:
        if self._project is None or not self._project.mlnb_dir.is_dir():
            self._project = Project.find(self.root_dir)
        return self._project


class _ApiHandler(APIHandler):
    """Shared plumbing: run ``fn`` inside the project, map mlnb errors to HTTP answers."""

    def initialize(self, locator: ProjectLocator) -> None:
        self.locator = locator

    async def reply(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            project = self.locator.project()
            result = await asyncio.to_thread(_in_project, project, fn, *args)
        except NotAProject as exc:
            return self._error(404, "not_a_project", exc)
        except NotFound as exc:
            return self._error(404, "not_found", exc)
        except MlnbError as exc:
            return self._error(400, "bad_request", exc)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(jsonable(result), allow_nan=False))

    def _error(self, status: int, code: str, exc: Exception) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": code, "message": str(exc)}))

    def too_long(self, path_args: tuple[str, ...]) -> bool:
        """Answer 400 and return True when a name or id in the URL is longer than the registry keeps."""
        if all(len(arg) <= MAX_NAME for arg in path_args):
            return False
        longest = max(len(arg) for arg in path_args)
        self._error(400, "bad_request", UsageError(
            f"a name or id of {longest:,} characters: names and run ids have at most {MAX_NAME}"))
        return True

    def paging(self, default: int = 50) -> tuple[int, int] | None:
        """``(limit, offset)`` from the query, or None after answering 400 for a bad one."""
        try:
            return self.int_arg("limit", default, 1, MAX_PAGE), self.int_arg("offset", 0, 0, 10**9)
        except UsageError as exc:
            self._error(400, "bad_request", exc)
            return None

    def int_arg(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, str(default))
        if not re.fullmatch(r"[0-9]{1,12}", raw) or not low <= int(raw) <= high:  # isdigit() takes '²'
            raise UsageError(f"invalid {name}={shown(raw, 40)}: use a whole number from {low} to {high}")
        return int(raw)


def _in_project(project: Project, fn: Callable[..., Any], *args: Any) -> Any:
    with using_project(project):
        return fn(project, *args)


def jsonable(value: Any) -> Any:
    """Plain JSON: result objects via ``to_dict()``, NaN/inf as null (browsers reject NaN)."""
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


# -- handlers --------------------------------------------------------------------------------


class AreaHandler(_ApiHandler):
    """``GET`` answers ``fn(project, *path_args)`` (status, run detail, datasets, models, alerts)."""

    def initialize(self, locator: ProjectLocator, fn: Callable[..., Any] | None = None) -> None:
        super().initialize(locator)
        self.fn = fn

    @tornado.web.authenticated
    async def get(self, *path_args: str) -> None:
        assert self.fn is not None
        if not self.too_long(path_args):
            await self.reply(self.fn, *path_args)


class PageHandler(AreaHandler):
    """``GET`` answers one page, ``fn(project, *path_args, limit, offset)``: ``?limit=50&offset=0``."""

    @tornado.web.authenticated
    async def get(self, *path_args: str) -> None:
        assert self.fn is not None
        if self.too_long(path_args) or (page := self.paging()) is None:
            return
        await self.reply(self.fn, *path_args, *page)


class VersionHandler(_ApiHandler):
    """The change feed: a token that changes when the registry does (polled by the panel)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            project = self.locator.project()
        except NotAProject:
            return self.finish({"version": None})
        self.finish({"version": await asyncio.to_thread(registry_version, project)})


class RunsHandler(_ApiHandler):
    """A page of runs: ``?filter=<mlnb filter>&sort=<field,-field>&limit=50&offset=0``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        if (page := self.paging()) is None:
            return
        flt = self.get_query_argument("filter", "").strip() or None
        sort = self.get_query_argument("sort", "").strip() or None
        experiment = self.get_query_argument("experiment", "").strip() or None
        lifecycle = self.get_query_argument("lifecycle", "").strip() or "active"
        await self.reply(_areas.runs_page, flt, sort, *page, experiment, lifecycle)


class CurateHandler(_ApiHandler):
    """``POST {"action": "rename", "value": "new name"}`` curates one run (mlnb.runs._curate)."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        if self.too_long((run_id,)):
            return
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("action"), str):
            return self._error(400, "bad_request", UsageError(
                'send a JSON object {"action": "rename", "value": "new name"} (actions: rename, note, experiment, '
                "delete, restore, archive)"))
        await self.reply(_areas.curate_run, run_id, body["action"], body.get("value"))


class DataDiffHandler(_ApiHandler):
    """``GET ?a=customers@1&b=customers@2``: what changed between two data versions."""

    @tornado.web.authenticated
    async def get(self) -> None:
        a, b = self.get_query_argument("a", ""), self.get_query_argument("b", "")
        if self.too_long((a, b)):
            return
        await self.reply(_areas.data_diff, a, b)


class CompareHandler(_ApiHandler):
    """Runs side by side: ``?ids=ID,ID,...&metric=NAME`` (the table rows and the chart specs)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        metric = self.get_query_argument("metric", "").strip() or None
        await self.reply(_areas.compare_runs, self.get_query_argument("ids", ""), metric)


class FileHandler(_ApiHandler):
    """Bytes of a run artifact or dataset file; everything else is refused (``_files``)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        raw = self.get_query_argument("path", "")
        try:
            project = self.locator.project()
            path = await asyncio.to_thread(_in_project, project, _areas.artifact_file, raw,
                                           self.locator.root_dir, self.locator.allow_hidden)
            fh = open(path, "rb")  # noqa: SIM115 - closed below, after the headers are known good
        except NotAProject as exc:
            return self._error(404, "not_a_project", exc)
        except Refused as exc:
            return self._error(exc.status, exc.code, exc)
        except OSError as exc:
            return self._error(404, "not_found", NotFound(f"cannot read {shown(raw)}: {exc.strerror}"))
        with fh:
            self.set_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
            self.set_header("Content-Disposition", disposition(path.name))
            while chunk := fh.read(1 << 16):
                self.write(chunk)
                await self.flush()
        self.finish()


API = "/mlnb/api"
#: (path pattern, handler, handler kwargs); every entry is registered and checked by the auth test.
ROUTES: list[tuple[str, type[_ApiHandler], dict[str, Any]]] = [
    (f"{API}/status", AreaHandler, {"fn": _areas.status}),
    (f"{API}/version", VersionHandler, {}),
    (f"{API}/runs", RunsHandler, {}),
    (f"{API}/runs/([^/]+)", AreaHandler, {"fn": _areas.run_detail}),
    (f"{API}/compare", CompareHandler, {}),
    (f"{API}/datasets", AreaHandler, {"fn": _areas.datasets}),
    (f"{API}/datasets/([^/]+)", AreaHandler, {"fn": _areas.dataset_versions}),
    (f"{API}/datasets/([^/]+)/([^/]+)", AreaHandler, {"fn": _areas.dataset_version}),
    (f"{API}/datadiff", DataDiffHandler, {}),
    (f"{API}/runs/([^/]+)/curate", CurateHandler, {}),
    (f"{API}/models", AreaHandler, {"fn": _areas.models}),
    (f"{API}/models/([^/]+)", PageHandler, {"fn": _areas.model_versions}),
    # before the version route: an alias named "history" is read by its number instead
    (f"{API}/models/([^/]+)/history", PageHandler, {"fn": _areas.model_history}),
    (f"{API}/models/([^/]+)/([^/]+)", AreaHandler, {"fn": _areas.model_version}),
    (f"{API}/alerts", AreaHandler, {"fn": _areas.alerts}),
    (f"{API}/files", FileHandler, {}),
]


def setup_routes(web_app: Any, root_dir: str, allow_hidden: bool = False) -> None:
    """Register ``ROUTES`` on a Jupyter server's tornado application."""
    base_url = web_app.settings["base_url"]
    locator = ProjectLocator(root_dir, allow_hidden)
    handlers = [(url_path_join(base_url, path), cls, {"locator": locator, **kw}) for path, cls, kw in ROUTES]
    web_app.add_handlers(".*$", handlers)
