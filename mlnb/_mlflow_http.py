"""A small client of an MLflow tracking server's REST API, on the standard library.

mlnb talks to MLflow over HTTP (``/api/2.0/mlflow/...`` and the ``mlflow-artifacts`` proxy of a
server started with ``--serve-artifacts``, MLflow's default since 2.0), so neither side needs the
other's package. One keep-alive connection is reused; a server that does not answer, or answers
an error, is one :class:`~mlnb.errors.MlnbError` line naming the URI and what to do.

Shared by :mod:`mlnb.runs` and :mod:`mlnb.models` (their MLflow import and export).

>>> client = MlflowClient("http://127.0.0.1:5000")  # doctest: +SKIP
>>> client.call("GET", "experiments/get-by-name", experiment_name="Default")  # doctest: +SKIP
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any

from .errors import MlnbError, UsageError

#: what one runs/log-batch request may carry (MLflow's documented limits)
BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS, BATCH_TOTAL = 1000, 100, 100, 1000
#: the longest tag value MLflow keeps
MAX_TAG_VALUE = 8000
#: the longest param value MLflow keeps
MAX_PARAM_VALUE = 6000


class MlflowError(MlnbError):
    """The MLflow server refused a request (its error code and message are in the text)."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code, self.status = code, status


class MlflowClient:
    """The REST API of the MLflow tracking server at ``uri`` (``http://host:port``)."""

    def __init__(self, uri: str, timeout: float = 30.0) -> None:
        full = uri if "://" in uri else f"http://{uri}"
        parsed = urllib.parse.urlsplit(full)
        try:
            port = parsed.port
        except ValueError:
            port = -1
        if parsed.scheme not in ("http", "https") or not parsed.hostname or port == -1 \
                or any(c.isspace() for c in full):
            raise UsageError(f"invalid MLflow URI {uri!r}: give the tracking server's address, "
                             "e.g. http://127.0.0.1:5000")
        self.uri = full.rstrip("/")
        self._scheme, self._host, self._port = parsed.scheme, parsed.hostname, port
        self._prefix = parsed.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    # -- transport -----------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            kind = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = kind(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One request on the kept connection (opened again once if the server closed it)."""
        url = self._prefix + path
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=headers or {})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 2:
                    raise self._unreachable(exc) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._unreachable(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc: BaseException) -> MlnbError:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        if isinstance(exc, socket.timeout):
            reason = f"no answer within {self._timeout:g} s"
        return MlnbError(f"the MLflow server at {self.uri} does not answer ({reason}): start it "
                         "(`mlflow server --port ...`) or check the URI; nothing was changed")

    def call(self, method: str, endpoint: str, body: dict[str, Any] | None = None, **query: Any) -> dict[str, Any]:
        """``/api/2.0/mlflow/<endpoint>`` with a JSON body (POST) or query (GET); the JSON answer."""
        path = f"/api/2.0/mlflow/{endpoint}"
        if query:
            path += "?" + urllib.parse.urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        status, raw = self.request(method, path, data, {"Content-Type": "application/json"} if data else None)
        return self._answer(status, raw, endpoint)

    def _answer(self, status: int, raw: bytes, what: str) -> dict[str, Any]:
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = None
        if status >= 400 or not isinstance(answer, dict):
            code = answer.get("error_code", "") if isinstance(answer, dict) else ""
            message = answer.get("message", "") if isinstance(answer, dict) else raw[:200].decode("utf-8", "replace")
            if status == 404 and not code:
                raise MlnbError(f"{self.uri} is not an MLflow tracking server ({what}: HTTP 404): check the URI")
            raise MlflowError(f"the MLflow server at {self.uri} refused {what}: "
                              f"{code or 'HTTP ' + str(status)} {message}".strip(), code, status)
        return answer

    def pages(self, method: str, endpoint: str, key: str, body: dict[str, Any] | None = None,
              **query: Any) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` of a paged answer, following ``next_page_token``."""
        token = None
        while True:
            if method == "GET":
                answer = self.call("GET", endpoint, **query, **({"page_token": token} if token else {}))
            else:
                answer = self.call("POST", endpoint, {**(body or {}), **({"page_token": token} if token else {})})
            yield from answer.get(key, [])
            token = answer.get("next_page_token")
            if not token:
                return

    # -- artifacts through the server's proxy ---------------------------------------------------

    @staticmethod
    def artifact_root(artifact_uri: str) -> str:
        """The proxy path of a run's ``artifact_uri`` (``mlflow-artifacts:/1/<run>/artifacts``)."""
        parsed = urllib.parse.urlsplit(artifact_uri)
        if parsed.scheme != "mlflow-artifacts":
            raise MlnbError(f"this MLflow server keeps artifacts at {artifact_uri!r}, which mlnb cannot reach "
                            "over HTTP: start it with --serve-artifacts (MLflow's default) and a "
                            "mlflow-artifacts:/ destination")
        return parsed.path.strip("/")

    def put_artifact(self, root: str, rel: str, data: bytes) -> None:
        path = "/api/2.0/mlflow-artifacts/artifacts/" + urllib.parse.quote(f"{root}/{rel}")
        status, raw = self.request("PUT", path, data, {"Content-Type": "application/octet-stream"})
        self._answer(status, raw or b"{}", f"the upload of artifact {rel}")

    def get_artifact(self, root: str, rel: str) -> bytes:
        path = "/api/2.0/mlflow-artifacts/artifacts/" + urllib.parse.quote(f"{root}/{rel}")
        status, raw = self.request("GET", path)
        if status >= 400:
            self._answer(status, raw, f"the download of artifact {rel}")
        return raw

    def list_artifacts(self, root: str, rel: str = "") -> list[tuple[str, int]]:
        """Every file under ``root/rel``: (path relative to ``root``, size), walking folders."""
        path = f"{root}/{rel}".rstrip("/")
        status, raw = self.request("GET", "/api/2.0/mlflow-artifacts/artifacts?"
                                   + urllib.parse.urlencode({"path": path}))
        answer = self._answer(status, raw, f"the listing of artifacts {rel or '/'}")
        found: list[tuple[str, int]] = []
        for item in answer.get("files", []):
            sub = f"{rel}/{item['path']}".lstrip("/") if rel else item["path"]
            if item.get("is_dir"):
                found.extend(self.list_artifacts(root, sub))
            else:
                found.append((sub, int(item.get("file_size", 0))))
        return found

    # -- the few calls both areas use -----------------------------------------------------------

    def experiment_id(self, name: str, create: bool = False) -> str | None:
        """The id of the experiment called ``name`` (made when ``create``), None when absent."""
        try:
            return str(self.call("GET", "experiments/get-by-name", experiment_name=name)["experiment"]["experiment_id"])
        except MlflowError as exc:
            if exc.code != "RESOURCE_DOES_NOT_EXIST":
                raise
        if not create:
            return None
        return str(self.call("POST", "experiments/create", {"name": name})["experiment_id"])

    def experiment_names(self) -> dict[str, str]:
        """{experiment id: name} of every active experiment."""
        return {e["experiment_id"]: e["name"] for e in
                self.pages("POST", "experiments/search", "experiments", {"max_results": 1000})}


