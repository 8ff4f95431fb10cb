"""On PostgreSQL a listing is one statement (mlnb/runs/_list_one.py): the same table as the full
path (reap, page, details) for every filter, sort and page, one statement sent, and the full
path still taking over where it must act (a dead running run) or look further (a short page)."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from sqlalchemy import and_, event, select

import mlnb
from mlnb.runs import _filter, _query
from mlnb.store import registry
from mlnb.store._schema import runs
from tests._postgres import fresh_project
from tests.runs.test_runs_filter import CASES, RUNS, seed_runs

SORTS = [None, "-metrics.loss", "metrics.accuracy", "params.opt", "-params.lr", "status,-name", "name",
         "-metrics.accuracy,name", "duration"]


pytestmark = pytest.mark.postgres


@pytest.fixture
def seeded(postgres_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLNB_REGISTRY_URL", postgres_url)
    project = next(fresh_project(tmp_path, monkeypatch))
    seed_runs()
    yield project
    project.close()


def _full(project, flt, sort, limit, offset):  # type: ignore[no-untyped-def]
    condition = and_(_filter.compile_filter(flt), *_query.scope(None, "active"))
    rows, params, latest, tags = _query._list_page(project, condition, _query.parse_sort(sort), limit, offset)
    query = {"filter": flt, "sort": sort, "limit": limit, "offset": offset, "experiment": None, "lifecycle": "active"}
    return _query.finish_rows(rows, params, latest, tags, query)


def _plain(table):  # type: ignore[no-untyped-def]
    """The table's rows with NaN made comparable."""
    def fix(v):  # type: ignore[no-untyped-def]
        if isinstance(v, float) and math.isnan(v):
            return "NaN"
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v
    return [{k: fix(v) for k, v in r.items()} for r in table.to_dict()]


def test_one_statement_equals_the_full_path(seeded):
    reg = registry(seeded)
    sent = []
    event.listen(reg._quick_engine(), "before_cursor_execute", lambda *a: sent.append(1))
    answered = 0
    for flt in [None, *(expr for expr, _ in CASES)]:
        for sort in SORTS:
            for limit, offset in ((50, 0), (2, 2)):
                before = len(sent)
                got = mlnb.runs.list(flt, sort=sort, limit=limit, offset=offset)
                want = _full(seeded, flt, sort, limit, offset)
                assert _plain(got) == _plain(want) and got.columns == want.columns, (flt, sort, limit, offset)
                assert len(sent) - before == 1  # one statement on the autocommit connection
                answered += bool(len(want))
    assert answered > 100


def test_a_short_page_sorted_by_a_metric_is_completed_by_the_full_path(seeded):
    got = mlnb.runs.list(sort="-metrics.loss", limit=50)  # 3 runs have a loss: the other 3 come after them
    assert [r["name"] for r in got][:3] == ["nan-run", "base-a", "base-b"] and len(got) == len(RUNS)


def test_the_listing_sends_one_statement_in_autocommit(seeded):
    reg = registry(seeded)
    mlnb.runs.list("metrics.accuracy > 0.5", sort="-metrics.accuracy", limit=3)
    statements = []
    for engine in (reg.engine, reg._quick_engine()):
        event.listen(engine, "before_cursor_execute", lambda c, cur, st, *a: statements.append(st))
    got = mlnb.runs.list("metrics.accuracy > 0.5", sort="-metrics.accuracy", limit=3)
    assert len(got) == 3 and len(statements) == 1 and statements[0].startswith("SELECT")
    with reg._quick_engine().connect() as conn:  # psycopg sends no BEGIN / ROLLBACK in autocommit
        assert conn.connection.dbapi_connection.autocommit is True
    assert reg._quick_engine().pool._pre_ping is False  # and the pool sends no ping


def test_a_dead_running_run_is_marked_crashed_by_the_full_path(seeded):
    code = ("import os, mlnb; run = mlnb.start_run('doomed'); run.log_metric('accuracy', 0.99); run.flush(); "
            "print(run.id, flush=True); os._exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    run_id = out.stdout.split()[-1]
    got = mlnb.runs.list(limit=2)  # newest first: one statement finds it running, the full path marks it
    assert got.ids[0] == run_id and got[0]["status"] == "crashed"
    assert mlnb.runs.get(run_id).status == "crashed"


def test_a_kept_statement_lists_what_was_written_since(seeded):
    from mlnb.runs import _list_one

    args = ("metrics.accuracy < 1e9", "-metrics.accuracy", None, "active", 2, 0)  # inf-run: not listed
    before = mlnb.runs.list(args[0], sort=args[1], limit=2)
    kept = _list_one.planned(args, _query._RUNNING)
    assert _list_one.planned(args, _query._RUNNING) is kept  # built once
    with mlnb.start_run("best") as run:
        run.log_metric("accuracy", 0.999)
    after = mlnb.runs.list(args[0], sort=args[1], limit=2)
    assert after.ids == [run.id, before.ids[0]]
    assert _list_one.planned(args, _query._RUNNING) is kept
    for _ in range(2):  # a bad filter is refused every time, never kept
        with pytest.raises(mlnb.errors.UsageError, match="unknown field"):
            mlnb.runs.list("nonsense.x > 1", limit=2)


def test_a_dead_running_run_off_the_page_is_still_seen(seeded):
    """The running runs come on the page's first row only, which is not row 1 past the first page."""
    code = ("import os, mlnb; run = mlnb.start_run('doomed'); run.flush(); print(run.id, flush=True); os._exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    run_id = out.stdout.split()[-1]
    got = mlnb.runs.list(limit=2, offset=1)  # newest first: the doomed run is not on this page
    assert run_id not in got.ids and len(got) == 2
    with registry(seeded).read() as conn:  # as the listing left it (runs.get would mark it itself)
        assert conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar() == "crashed"


def test_the_change_feeds_revision_is_one_statement_too(seeded):
    """The panel polls the registry's revision while runs are written: one round trip, no ping."""
    reg = registry(seeded)
    sent = {"pooled": [], "one": []}
    event.listen(reg.engine, "before_cursor_execute", lambda c, cur, st, *a: sent["pooled"].append(st))
    event.listen(reg._quick_engine(), "before_cursor_execute", lambda c, cur, st, *a: sent["one"].append(st))
    first = reg.revision()
    assert sent["pooled"] == [] and len(sent["one"]) == 1 and sent["one"][0].startswith("SELECT")
    with mlnb.start_run("moves it"):
        pass
    assert reg.revision() != first
