"""A real IPython shell for the checks tests: the process-wide one other test modules use too."""

from __future__ import annotations

import pytest


@pytest.fixture
def ipython():
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython() or get_ipython()  # the first call starts it, later ones return None
    ip.run_cell("%load_ext mlnb", store_history=False)
    yield ip
    ip.run_cell("%unload_ext mlnb", store_history=False)
