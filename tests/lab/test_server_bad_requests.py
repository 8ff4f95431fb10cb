"""Every bad request to /mlnb/api/ is a 4xx with a JSON reason, never a 500 (a real server)."""

from __future__ import annotations

import urllib.parse

import pytest

from mlnb.runs._filter import MAX_DEPTH, MAX_LENGTH, MAX_TERMS
from mlnb.runs._query import MAX_SORT_KEYS

from ._lab import Lab
from .conftest import ERROR_CODES


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


LONG = "x" * 6000
DEEP = "(" * 300 + "tags.a" + ")" * 300
NOTS = "not " * 300 + "tags.a"
MANY = " or ".join(f"metrics.m{i} > {i}" for i in range(1000))  # quoted, still under tornado's 64 KiB
# a long pattern that still fits in a request line (tornado refuses lines over 64 KiB on its own)
BIG_PATTERN = "name ~ '" + "a" * 20_000 + "'"
SORT_100 = ",".join(f"-metrics.m{i}" for i in range(100))

NOT_UTF8 = ["files?path=%FF%FE", "runs?limit=%FF", "runs?filter=%C3"]
BAD_REQUESTS = [
    # paging: non-ASCII digits str.isdigit() accepts, signs, huge, empty, floats (tornado strips
    # spaces and turns control characters into spaces before mlnb sees an argument)
    *[f"runs?limit={q(v)}" for v in ("²", "٣", "１", "0", "-1", "+5", "5 5", "1e3", "5.0", "", "abc",
                                     "99999999999999999999999", "501", "0x10", "1_0", "\x00")],
    *[f"runs?offset={q(v)}" for v in ("²", "-1", "1e3", "", "abc", "9" * 40, "\n")],
    # filters and sorts past the documented limits, or malformed
    *[f"runs?filter={q(v)}" for v in (DEEP, NOTS, MANY, BIG_PATTERN, "(" * (MAX_DEPTH + 1) + "tags.a" +
                                      ")" * (MAX_DEPTH + 1), " or ".join(["tags.a"] * (MAX_TERMS + 1)),
                                      "name ~ '" + "a" * MAX_LENGTH + "'", "metrics.a >", "((",
                                      "name = '\n'x", "é = 1", "metrics.a > ²")],
    *[f"runs?sort={q(v)}" for v in (SORT_100, ",".join(["name"] * (MAX_SORT_KEYS + 1)), "tags.a", "nope",
                                    "metrics." + "m" * MAX_LENGTH, "-", "é", "name,,-")],
    # path arguments: unicode, newline, NUL, very long, dots
    *[f"runs/{q(v)}" for v in ("é", "ab\ncd", LONG, "\x00", "..", "a b", "%00", "ffff")],
    *[f"datasets/{q(v)}" for v in ("é", "ab\ncd", LONG, "\x00", "..", "a b", "%2e%2e")],
    *[f"models/{q(v)}" for v in ("é", "ab\ncd", LONG, "\x00", "..", "a b", "a@b", "nope")],
    *[f"models/churn/{q(v)}" for v in ("é", "ab\ncd", LONG, "\x00", "..", "0x1", "1@2", "-1", "99999999999", "9" * 40, "²")],
    *[f"models/{p}?{a}={q(v)}" for p in ("churn", "churn/history") for a in ("limit", "offset")
      for v in ("²", "-1", "", "abc", "9" * 40)],
    *[f"files?path={q(v)}" for v in ("é.txt", "nope\n.txt", "a\nb/c", LONG, "a/" * 3000, "\x00", "a\x00b",
                                     "", ".", "..", "/", "~", "~/.bashrc", "reports/" + "x" * 300)],
    "files",
    *NOT_UTF8,
]

# every route answers GET only: other methods are refused as JSON too
METHODS = [(method, path) for path in ("status", "version", "runs", "runs/x", "datasets", "datasets/x",
                                       "models", "models/x", "models/x/history", "models/x/1", "alerts",
                                       "files?path=x") for method in ("POST", "PUT", "DELETE")]


@pytest.mark.parametrize("path", BAD_REQUESTS, ids=range(len(BAD_REQUESTS)))
def test_a_bad_request_is_a_4xx_with_a_json_reason(lab: Lab, path: str) -> None:
    status, body = lab.api("mlnb/api/" + path)
    assert 400 <= status < 500, (path[:200], status, body if isinstance(body, dict) else body[:300])
    assert isinstance(body, dict), body[:300]
    if path in NOT_UTF8:  # tornado refuses these itself, in Jupyter's JSON (docs/jupyterlab.md)
        name, raw = path.split("?")[1].split("=")
        shown = repr(urllib.parse.unquote_to_bytes(raw))
        assert (status, body) == (400, {"message": f"Invalid unicode in {name}: {shown}", "reason": None})
        return
    assert body["error"] in ERROR_CODES[status], (path[:200], status, body)  # the code names the refusal
    assert body["message"] and "Traceback" not in body["message"]
    assert len(body["message"]) < 600, "the reason should be a line, not the request echoed back"


@pytest.mark.parametrize("method,path", METHODS)
def test_other_methods_are_a_405_with_a_json_reason(lab: Lab, method: str, path: str) -> None:
    status, body = lab.api("mlnb/api/" + path, method=method)
    assert status == 405
    assert body == {"message": "Method Not Allowed", "reason": None}  # Jupyter's JSON for a 405


def test_limits_are_400s_that_name_the_limit(lab: Lab) -> None:
    status, body = lab.api(f"mlnb/api/runs?filter={q(DEEP)}")
    assert (status, body["error"]) == (400, "bad_request")
    assert f"{MAX_DEPTH}" in body["message"] and "nest" in body["message"]
    status, body = lab.api(f"mlnb/api/runs?sort={q(SORT_100)}")
    assert (status, body["error"]) == (400, "bad_request")
    assert f"{MAX_SORT_KEYS}" in body["message"]


def test_the_server_still_answers_after_the_bad_requests(lab: Lab) -> None:
    status, body = lab.api("mlnb/api/runs?limit=5&filter=tags.seed")
    assert status == 200 and len(body["runs"]) == 3
