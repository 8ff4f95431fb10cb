"""Running a notebook cell inside a run (``%%mlops run`` and the export area's ``%%mlops stage``).

The cell runs in the user's namespace like any cell (IPython's own transformations apply, so
``!cmd`` and ``%magic`` lines work) and its last expression is displayed as usual. An exception
marks the run failed and then propagates, so IPython shows it and the cell counts as failed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from ._run import Run, start_run


def record_cell(
    name: str | None,
    cell: str,
    shell: Any,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    experiment: str | None = None,
) -> Any:
    """Run ``cell`` in ``shell`` inside a run named ``name``; returns the value of its last expression.

    The run records the cell source as its code. Params are recorded, not injected into the
    namespace: the cell's own code stays the single source of what it does.

    >>> record_cell("baseline", "x = 1\\nx + 1", get_ipython(), params={"lr": 0.1})  # doctest: +SKIP
    2
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame from tracebacks
    return record_cell_run(name, cell, shell, params, tags, experiment)[0]


def record_cell_run(
    name: str | None,
    cell: str,
    shell: Any,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] | None = None,
    experiment: str | None = None,
) -> tuple[Any, Run]:
    """:func:`record_cell`, also returning the (ended) run."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame from tracebacks
    code = _parse(cell, shell)  # a cell that does not parse never runs: no run is recorded
    run = start_run(name, params=params, tags=tags, code=cell, experiment=experiment)
    try:
        result = _execute(code, shell)
    except BaseException as exc:
        run.end_with(exc)
        raise
    run.end()
    return result, run


def run_in_shell(cell: str, shell: Any) -> Any:
    """Execute ``cell`` as IPython would and return the value of its last expression (or None)."""
    __tracebackhide__ = True  # noqa: F841
    return _execute(_parse(cell, shell), shell)


def _parse(cell: str, shell: Any) -> tuple[ast.Module, str]:
    __tracebackhide__ = True  # noqa: F841
    source = shell.transform_cell(cell) if shell is not None else cell
    return ast.parse(source, filename="<mlops-cell>"), source


def _execute(parsed: tuple[ast.Module, str], shell: Any) -> Any:
    __tracebackhide__ = True  # noqa: F841
    tree, source = parsed
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    ns = shell.user_ns if shell is not None else {}
    filename = _cell_filename(shell, source)
    if tree.body:
        exec(compile(tree, filename, "exec"), ns)  # noqa: S102 - the user's own cell
    if last is not None:
        return eval(compile(last, filename, "eval"), ns)  # noqa: S307
    return None


def _cell_filename(shell: Any, source: str) -> str:
    """A name under which IPython's traceback can show the cell's lines."""
    compiler = getattr(shell, "compile", None)
    cache = getattr(compiler, "cache", None)
    if callable(cache):
        try:
            return cache(source)
        except Exception:  # pragma: no cover - older IPython
            pass
    return "<mlops-cell>"


__all__ = ["record_cell", "record_cell_run", "run_in_shell"]
