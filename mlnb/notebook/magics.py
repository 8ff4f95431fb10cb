"""``%mlops`` and ``%%mlops``: the CLI's argparse tree, with results displayed inline.

Errors an mlnb user can act on show as one line on stderr; ``%mlops --debug ...`` shows the
traceback instead.
"""

from __future__ import annotations

import shlex
import sys
import traceback
from typing import Any

from ..cli import Context, run
from ..errors import MlnbError


def mlops(line: str, cell: str | None = None, shell: Any = None) -> Any:
    """Run one ``%mlops`` line (and a cell body for ``%%mlops``); display its result."""
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        print(f"%mlops: error: cannot parse the line: {exc}", file=sys.stderr)
        return None
    debug = "--debug" in argv
    try:
        args, result = run(argv, Context(cell=cell, shell=shell, prog="%mlops"))
    except MlnbError as exc:
        if debug:
            traceback.print_exc()
        print(f"%mlops: error: {exc}", file=sys.stderr)
        return None
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
        return mlops(line, cell, shell=ipython)

    line_cell.__doc__ = _magic_doc()
    ipython.register_magic_function(line_cell, magic_kind="line_cell", magic_name="mlops")


def unregister(ipython: Any) -> None:
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("mlops", None)


def _magic_doc() -> str:
    return "mlnb: `%mlops --help` lists the commands; `%mlops COMMAND --help` explains one."
