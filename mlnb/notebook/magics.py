"""``%mlops`` and ``%%mlops``: the CLI's argparse tree, with results displayed inline.

Errors an mlnb user can act on show as one line (IPython's ``UsageError``, which also fails the
cell, so "Run All" and nbval stop there); ``%mlops --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import shlex
import sys
import traceback
from typing import Any

from ..cli import Context, os_error_line, run
from ..errors import MlnbError


def mlops(line: str, cell: str | None = None, shell: Any = None) -> Any:
    """Run one ``%mlops`` line (and a cell body for ``%%mlops``); display its result."""
    __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of a cell's traceback
    from IPython.core.error import UsageError

    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"%mlops: cannot parse the line: {exc}") from None
    debug = "--debug" in argv
    try:
        args, result = run(argv, Context(cell=cell, shell=shell, prog="%mlops"))
    except (MlnbError, OSError) as exc:  # OSError: the machine refused (a path, the disk), as in the CLI
        if debug:
            traceback.print_exc()
        message = os_error_line(exc) if isinstance(exc, OSError) else str(exc)
        raise UsageError(message if message.startswith("%mlops") else f"%mlops: {message}") from None
    except SystemExit:  # --help printed its text
        return None
    if result is None:
        return None
    if getattr(args, "json", False):
        print(result.to_json())
        return None
    from IPython.display import display

    display(result)
    return None


def register(ipython: Any) -> None:
    def line_cell(line: str, cell: str | None = None) -> Any:
        __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of a cell's traceback
        return mlops(line, cell, shell=ipython)

    line_cell.__doc__ = _magic_doc()
    ipython.register_magic_function(line_cell, magic_kind="line_cell", magic_name="mlops")
    if not ipython.custom_exceptions:  # never replace a handler the user set
        ipython.set_custom_exc((MlnbError,), _show_api_error)


def unregister(ipython: Any) -> None:
    from .stages import forget

    forget(ipython)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("mlops", None)
    if ipython.custom_exceptions == (MlnbError,):
        ipython.set_custom_exc((), None)


def _show_api_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
    """An MlnbError from API code in a cell (``mlnb.data.load("nope")``): one line naming the cell
    line, shown as the cell's error, which still fails the cell; ``%debug`` has the traceback."""
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in shell.compile._filename_map:
            line = tb.tb_lineno
        tb = tb.tb_next
    stb = [f"{etype.__name__}: {value}" + (f" (cell line {line})" if line else "")]
    shell._showtraceback(etype, value, stb)
    return stb


def _magic_doc() -> str:
    return "mlnb: `%mlops --help` lists the commands; `%mlops COMMAND --help` explains one."
