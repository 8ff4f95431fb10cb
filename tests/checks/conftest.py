"""Hypothesis profiles for the statistics tests, chosen with ``HYPOTHESIS_PROFILE`` (or pytest's
``--hypothesis-profile``):

* ``ci`` (set by ``.ci/run``): derandomized, so every run tests the same examples and a red run
  replays exactly; a failure also prints the ``@reproduce_failure`` blob.
* ``dev`` (the default): fresh examples each run, failing ones kept in ``.hypothesis/`` and tried
  first next time, and the blob printed.

``MLNB_HYPOTHESIS_EXAMPLES`` raises the number of examples per test (default 60).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
