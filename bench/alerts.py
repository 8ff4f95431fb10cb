"""Benchmark: `mlnb monitor check` with 20 rules (target <= 0.5 s), against one report per rule.

    python bench/alerts.py            # 30 daily windows of 20,000 logged predictions with outcomes, 8 features
    python bench/alerts.py --quick    # CI smoke run: 3 windows of 2,000 rows

Data: a classifier's log (prediction, positive-class probability, outcome, 8 numeric features)
written with ``mlnb.monitor.log_predictions`` / ``log_outcomes`` into a fresh project; 20 rules
over one daily window (the common case; a check computes one report per distinct window): performance, estimated performance, drift, missing rates.

Anchor, in this same run: the same 20 rules evaluated with one report per rule (what a check
would cost if it did not share reports between rules of one window). Printed: the median of
``--repeat`` checks (fire/resolve, registry writes, no channels), the anchor's, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RULES = [
    ("accuracy < 0.85", "1D"), ("precision < 0.8", "1D"), ("recall < 0.8", "1D"), ("f1 < 0.8", "1D"),
    ("roc_auc < 0.85", "1D"), ("estimated.roc_auc < 0.8", "1D"), ("estimated.accuracy < 0.8", "1D"),
    ("drift.share > 0.3", "1D"), ("prediction.drift > 0.2", "1D"), ("accuracy outside band", "1D"),
    *[(f"drift.x{i} > 0.2", "1D") for i in range(4)],
    *[(f"missing.x{i} > 0.1", "1D") for i in range(4, 6)],
    ("latency.p99 > 200", "1D"), ("schema.failures > 0", "1D"), ("error_rate > 0.01", "1D"), ("rmse > 1", "1D"),
]


def seed(days: int, per_day: int) -> None:
    import mlnb

    rng = np.random.default_rng(0)
    n = days * per_day
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(8)})
    logit = X["x0"] + 0.5 * X["x1"]
    proba = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < proba).astype(int)
    times = pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(np.sort(rng.random(n)) * days, unit="D")
    ids = np.arange(n).astype(str)
    mlnb.monitor.log_predictions("churn", X, (proba > 0.5).astype(int), ids=ids, proba=proba, time=times)
    mlnb.monitor.log_outcomes("churn", ids, y, time=times)
    for when, window in RULES:
        mlnb.monitor.add_rule(when, model="churn", window=window)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 3 windows of 2,000 rows")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    days, per_day = (3, 2_000) if args.quick else (30, 20_000)

    import mlnb
    from mlnb.monitor._check import _latest_window, check

    if getattr(mlnb.monitor, "report", None) is None:
        print("bench/alerts.py: skipped (mlnb.monitor.report is not in this checkout)")
        return
    work = Path(tempfile.mkdtemp(prefix="mlnb-bench-alerts-"))
    try:
        os.chdir(work)
        mlnb.init()
        seed(days, per_day)
        assert len(mlnb.monitor.list_rules("churn")) == 20
        timed, anchor = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = check("churn", send=False)
            timed.append(time.perf_counter() - start)
            start = time.perf_counter()
            for rule in mlnb.monitor._rules.load_rules(work, "churn"):
                _latest_window("churn", rule.window)  # one report per rule
            anchor.append(time.perf_counter() - start)
        ours, theirs = statistics.median(timed), statistics.median(anchor)
        states = {r["state"] for r in result.rows}
        print(f"check, 20 rules, {days} windows x {per_day:,} rows: {ours:.3f} s median of {args.repeat} "
              f"(target <= 0.5 s: {'met' if ours <= 0.5 else 'NOT met'}); states {sorted(states)}")
        print(f"anchor, one report per rule: {theirs:.3f} s; ratio {theirs / ours:.1f}x")
    finally:
        os.chdir(ROOT)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
