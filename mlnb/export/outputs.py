"""What a cell shows, in the scripts and in ``--check``.

In a script, a cell's last expression is printed as IPython would show it (nothing for ``None``,
for an assignment, or after a trailing ``;``), so the pipeline shows what the notebook showed. A
setup cell copied into several scripts shows its output in the first of them only: in the others
its top-level ``print(...)``/``display(...)`` lines whose arguments call nothing but read-only
functions are dropped, and its last expression is evaluated without being shown.

``--check`` compares, cell by cell, the text the saved notebook shows (its stdout, and the plain
text of its results and displays) with what the cell printed under ``dvc repro``: by the numbers in
the text, in order, within :data:`REL_TOL` (layout and words ignored), or, for text without
numbers, word by word ignoring layout and memory addresses (``at 0x7f...``).
"""

from __future__ import annotations

import ast
import functools
import math
import re
from pathlib import Path
from typing import Any

from .cells import _apply
from .defuse import READ_ONLY_METHODS

#: Relative tolerance for numbers printed by a cell (its text is rounded for display anyway).
REL_TOL = 1e-6
ABS_TOL = 1e-9
#: Calls allowed in the arguments of a setup ``print``/``display`` dropped from later scripts.
_PURE_CALLS = frozenset("len str repr round int float bool type sorted list tuple dict set sum min max abs "
                        "format isinstance range enumerate zip id hex".split())
_SHOWN = "_mlnb_export.show"
#: Calls a last line often makes that return None (nothing to show): left as written.
_RETURNS_NONE = frozenset("print display log_metric log_metrics log_param log_params set_tags show savefig seed".split())
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])|\b(?:nan|NaN|inf)\b")
_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]+|0x[0-9a-fA-F]+")
_TIMING = re.compile(r"^(CPU times|Wall time):.*$", re.MULTILINE)  # what %%time prints in a notebook


def _edit(code: str, node: ast.AST, new: str) -> str:
    """``code`` with ``node``'s text replaced by ``new``."""
    return _apply(code, [(node.lineno, node.col_offset, node.end_lineno or node.lineno,  # type: ignore[attr-defined]
                          node.end_col_offset or 0, new)])  # type: ignore[attr-defined]


def _last_shown(code: str, body: list[ast.stmt]) -> ast.expr | None:
    """The expression IPython would display at the end of ``body``, if any."""
    if not body:
        return None
    last = body[-1]
    if isinstance(last, ast.With) and len(last.items) == 1 and _is_call_to(last.items[0].context_expr,
                                                                           "_mlnb_export.run"):
        return _last_shown(code, last.body)  # a `%%mlops run` cell: its body's last expression
    if not isinstance(last, ast.Expr):
        return None
    value = last.value
    if isinstance(value, ast.Constant) and value.value is None:
        return None  # a dropped magic
    if isinstance(value, ast.Call) and _called_name(value) in _RETURNS_NONE:
        return None  # prints already, or shows nothing: the script stays as written
    after = _edit(code, last, "\0").split("\0", 1)[1].split("\n", 1)[0]
    if after.lstrip().startswith(";"):
        return None  # `x;` hides the value in a notebook
    return value


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _is_call_to(node: ast.AST, dotted: str) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func) == dotted


@functools.lru_cache(maxsize=4096)
def show_last(code: str) -> str:
    """``code`` with its last expression printed as the notebook shows it.

    >>> show_last("x = 2\\nx * 21")
    'x = 2\\n_mlnb_export.show(x * 21)'
    """
    value = _last_shown(code, ast.parse(code).body)
    if value is None:
        return code
    segment = ast.get_source_segment(code, value) or ast.unparse(value)
    if isinstance(value, ast.Tuple) and len(ast.parse(f"f({segment})").body[0].value.args) != 1:  # type: ignore[attr-defined]
        segment = f"({segment})"  # `a, b` shows one tuple, as IPython does: one argument
    return _edit(code, value, f"{_SHOWN}({segment})")


@functools.lru_cache(maxsize=4096)
def quiet(code: str) -> str:
    """``code`` without the top-level prints/displays that change nothing (a setup cell's output,
    already shown by the first script that copies the cell)."""
    tree = ast.parse(code)
    for stmt in reversed(tree.body):
        value = stmt.value if isinstance(stmt, ast.Expr) else None
        if value is not None and (_is_call_to(value, "print") or _is_call_to(value, "display")) \
                and all(_pure(a) for a in [*value.args, *(k.value for k in value.keywords)]):  # type: ignore[attr-defined]
            code = _edit(code, stmt, "pass  # printed by the first stage that runs this setup cell")
    return code


def _pure(node: ast.AST) -> bool:
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func
        if isinstance(func, ast.Name) and func.id in _PURE_CALLS:
            continue
        if isinstance(func, ast.Attribute) and func.attr in READ_ONLY_METHODS:
            continue
        return False
    return True


def script_cell(code: str, shows: bool) -> str:
    """A cell as a script runs it: its last expression shown when ``shows``, else its plain
    prints dropped (a setup cell copied into a later script)."""
    return show_last(code) if shows else quiet(code)


# -- comparing what was shown --------------------------------------------------------------------


def notebook_texts(path: Path) -> dict[int, str]:
    """Cell number → the text the saved notebook shows for it, or why it cannot be compared
    (a :class:`Skip`: never run, or its output captured by ``%%capture``)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    found: dict[int, str] = {}
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        if cell.get("execution_count") is None and not outputs:
            found[number] = Skip("not run in the saved notebook")
            continue
        if cell.source.lstrip().startswith("%%capture"):
            found[number] = Skip("output captured by %%capture in the notebook")
            continue
        parts = []
        for out in outputs:
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                parts.append(out.get("text", ""))
            elif out.get("output_type") in ("execute_result", "display_data") and not _live_chart(out):
                parts.append(out.get("data", {}).get("text/plain", ""))
        found[number] = _TIMING.sub("", "\n".join(parts))
    return found


def _live_chart(output: Any) -> bool:
    """A run's live metric chart (``mlnb.runs._live``): drawn only in a kernel, so not compared."""
    mark = output.get("metadata", {}).get("mlnb")
    return isinstance(mark, dict) and bool(mark.get("live_chart"))


class Skip(str):
    """Why a cell's output is not compared."""


def numbers(text: str) -> list[float]:
    return [float(m) for m in _NUMBER.findall(_ADDRESS.sub(" ", text))]


def _words(text: str) -> str:
    return " ".join(_ADDRESS.sub(" ", text).split())


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL) or (math.isnan(a) and math.isnan(b))


def compare_text(notebook: str, pipeline: str) -> tuple[bool, str, str]:
    """(equal, notebook side, pipeline side) of one cell's shown text, each side cut short."""
    mine, theirs = numbers(notebook), numbers(pipeline)
    if not mine and not theirs:
        a, b = _words(notebook), _words(pipeline)
        return a == b, _short(a), _short(b)
    if len(mine) != len(theirs):
        return False, f"{len(mine)} numbers: {_short(_words(notebook))}", f"{len(theirs)} numbers: {_short(_words(pipeline))}"
    for i, (a, b) in enumerate(zip(mine, theirs), start=1):
        if not _close(a, b):
            return False, f"number {i} of {len(mine)}: {a:g}", f"number {i} of {len(theirs)}: {b:g}"
    return True, _short(_words(notebook)), _short(_words(pipeline))


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def shown_by(plan: Any) -> dict[int, tuple[str, str]]:
    """Cell number → (stage, script) whose run shows that cell's output: its stage, or for a setup
    cell the first stage (in notebook order) that copies it."""
    owner: dict[int, tuple[str, str]] = {}
    for stage in plan.stages:
        for cell in [*stage.setup, *stage.cells]:
            owner.setdefault(cell.number, (stage.name, stage.script))
    return owner


def rows(plan: Any, transcripts: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Comparison rows for every cell that showed something on either side; and the cells skipped,
    with why."""
    saved = notebook_texts(Path(plan.notebook))
    found: list[dict[str, Any]] = []
    skipped: list[str] = []
    for number, (stage, script) in sorted(shown_by(plan).items()):
        printed = transcripts / Path(script).stem / f"cell-{number}.txt"
        pipeline = printed.read_text(encoding="utf-8") if printed.exists() else ""
        notebook = saved.get(number, "")
        if isinstance(notebook, Skip):
            if pipeline.strip():
                skipped.append(f"cell {number} ({notebook})")
            continue
        if not notebook.strip() and not pipeline.strip():
            continue
        equal, a, b = compare_text(notebook, pipeline)
        found.append({"stage": stage, "metric": f"cell {number} output", "notebook": a, "pipeline": b,
                      "equal": equal})
    return found, skipped
