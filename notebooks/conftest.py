"""When only notebooks/ is collected, nbval's kernels still import this checkout's mlnb."""

from tests.conftest import pytest_configure  # noqa: F401
