"""Reading a notebook for export: code cells, stage markers, and IPython syntax made plain Python.

A cell belongs to a stage when it starts with ``%%mlops stage NAME`` or carries the tag
``stage:NAME``; unmarked cells after a stage continue it, unmarked cells before the first stage
are *setup* (imports, constants, helpers). A cell tagged ``parameters`` supplies ``params.yaml``.

IPython syntax goes through IPython's own ``TransformerManager`` first; what it turns into
``get_ipython()`` calls is then translated: ``%mlops VERB ...`` becomes ``_mlnb_export.mlops("VERB ...")``
(the same CLI tree), display-only magics (``%matplotlib``, ``%load_ext`` ...) are dropped, and
anything else (``!shell``, ``%timeit``, ``%%bash`` ...) is refused naming the cell.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shlex
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MlnbError, NotFound, UsageError

#: Line magics that only affect the notebook's display or kernel: dropped from scripts.
DROPPED_LINE_MAGICS = frozenset(
    {"matplotlib", "load_ext", "reload_ext", "autoreload", "aimport", "config", "precision", "pprint", "pylab",
     # help lines: `?name`, `name?` (pinfo), `name??` (pinfo2), `np.*mean*?` (psearch)
     "pinfo", "pinfo2", "psearch", "pdoc", "pdef", "psource", "pfile"}
)
#: Cell magics whose body runs as plain Python (the magic only times or captures it).
TRANSPARENT_CELL_MAGICS = frozenset({"time", "capture"})
#: Names a notebook provides without a definition; a script gets them from the runtime module.
NOTEBOOK_BUILTINS = frozenset({"display"})

_STAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_TAG = "stage:"


@dataclass(frozen=True)
class Cell:
    """One code cell as the exporter sees it.

    ``number`` is the cell's 1-based position in the notebook (markdown cells count too), the
    number used in every message; ``code`` is plain Python; ``source`` is the code a run started
    by this cell records (the body after a ``%%mlops stage``/``run`` line, else the whole cell).
    """

    number: int
    code: str
    stage: str | None  # None: setup (before the first stage)
    parameters: bool = False
    outs: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    source: str = ""

    @property
    def where(self) -> str:
        kind = "parameters" if self.parameters else f"stage {self.stage!r}" if self.stage else "setup"
        return f"cell {self.number} ({kind})"


@dataclass
class Notebook:
    path: Path
    cells: list[Cell] = field(default_factory=list)
    marked: bool = False  # at least one stage marker


def add_stage_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``%%mlops stage``: shared by the magic and the exporter's reader."""
    parser.add_argument("name", help="stage name (letters, digits, '_' and '-')")
    parser.add_argument("--outs", nargs="+", default=[], metavar="PATH", help="files this stage writes")
    parser.add_argument("--deps", nargs="+", default=[], metavar="PATH", help="files this stage reads")


def check_stage_name(name: str, where: str = "") -> str:
    if not _STAGE_NAME.match(name):
        raise UsageError(
            f"{where + ': ' if where else ''}stage name {name!r} is not allowed: "
            "start with a letter, then letters, digits, '_' or '-'"
        )
    return name


def parse_stage_line(line: str, where: str) -> argparse.Namespace:
    """Parse the arguments after ``%%mlops stage``."""
    from ..cli import ArgumentParser

    parser = ArgumentParser(prog="%%mlops stage", add_help=False)
    add_stage_arguments(parser)
    try:
        args = parser.parse_args(shlex.split(line))
    except (UsageError, ValueError) as exc:
        raise UsageError(f"{where}: bad stage marker: {exc}") from None
    check_stage_name(args.name, where)
    return args


def read_notebook(path: str | Path) -> Notebook:
    """The notebook's code cells with their stages, in plain Python.

    >>> nb = read_notebook("analysis.ipynb")  # doctest: +SKIP
    >>> [c.stage for c in nb.cells]  # doctest: +SKIP
    [None, 'prepare', 'train']
    """
    from ._nbread import notebook_cells

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path} does not exist: give the notebook's path (an .ipynb file)")
    try:
        raw_cells = notebook_cells(path)
    except Exception as exc:  # nbformat raises several unrelated types for a broken file
        reason = " ".join(str(exc).split())[:200]
        raise MlnbError(f"{path} is not a readable notebook ({reason}): save it again from Jupyter") from None
    out = Notebook(path=path)
    stage: str | None = None
    for number, raw in enumerate(raw_cells, start=1):
        if raw["cell_type"] != "code":
            continue
        cell = _read_cell(number, raw["source"], list(raw.get("metadata", {}).get("tags", [])), stage)
        if cell is None:
            continue
        if cell.stage != stage:
            out.marked = True
        stage = cell.stage
        out.cells.append(cell)
    return out


def _read_cell(number: int, source: str, tags: list[str], current: str | None) -> Cell | None:
    stage, outs, deps, marker = current, (), (), False
    tagged = [t[len(_TAG):] for t in tags if t.startswith(_TAG)]
    if len(tagged) > 1:
        raise UsageError(f"cell {number}: more than one stage tag ({', '.join(tagged)}): keep one")
    if tagged:
        stage, marker = check_stage_name(tagged[0], f"cell {number}"), True
    body, run_line = source, None
    first, _, rest = source.lstrip("\n").partition("\n")
    if first.startswith("%%"):
        magic, _, line = first[2:].partition(" ")
        where = f"cell {number}"
        if magic == "mlops":
            verb, _, args_line = line.strip().partition(" ")
            if verb == "stage":
                args = parse_stage_line(args_line, where)
                if tagged and tagged[0] != args.name:
                    raise UsageError(f"{where}: tag stage:{tagged[0]} and %%mlops stage {args.name} disagree")
                stage, outs, deps, body = args.name, tuple(args.outs), tuple(args.deps), rest
                marker = True
            elif verb == "run":  # the script starts the same run around the body
                body, run_line = rest, args_line.strip()
            else:
                raise UsageError(f"{where}: %%mlops {verb} has no plain-Python form: use %%mlops stage NAME")
        elif magic in TRANSPARENT_CELL_MAGICS:
            body = rest
        else:
            raise UsageError(
                f"{where}: the %%{magic} cell magic cannot run outside IPython: rewrite the cell in Python"
            )
    label = f"cell {number} ({'stage ' + repr(stage) if stage else 'setup'})"
    return _finish(number, tags, stage, outs, deps, marker, translate(body, label), run_line, body)


def _finish(number: int, tags: list[str], stage: str | None, outs: tuple[str, ...], deps: tuple[str, ...],
            marker: bool, code: str, run_line: str | None = None, source: str = "") -> Cell | None:
    if run_line is not None:  # `%%mlops run NAME ...` → the run it records, around the body
        code = f"with _mlnb_export.run({run_line!r}):\n" + (indent(code.rstrip() + "\n") if code.strip() else "    pass")
        code += "\n"
    if not code.strip() and not marker and "parameters" not in tags:
        return None
    return Cell(number=number, code=code, stage=stage, parameters="parameters" in tags, outs=outs, deps=deps,
                source=source)


def code_digest(source: str | None) -> str | None:
    """A content hash of a cell's code as a run records it (outer blank space ignored)."""
    import hashlib

    return None if source is None else hashlib.sha256(source.strip().encode()).hexdigest()


def translate(source: str, where: str) -> str:
    """IPython source → plain Python; raises :class:`UsageError` for syntax with no script form."""
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise UsageError(f"{where}: syntax error on line {exc.lineno}: {exc.msg}") from None
    statements = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    edits: list[tuple[int, int, int, int, str]] = []
    for node in ast.walk(tree):
        call = _ipython_call(node)
        if call is None:
            continue
        method, args = call
        new = _replacement(method, args, where)
        if new.startswith("None  #") and id(node) in statements:
            new = new[len("None  "):]  # a dropped magic on its own line becomes a comment
        edits.append((node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0, new))
    if not edits:
        return code
    return _apply(code, edits)


def _ipython_call(node: ast.AST) -> tuple[str, list[Any]] | None:
    """``get_ipython().METHOD(const, ...)`` → (METHOD, [consts])."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant)]
    return node.func.attr, args


def _replacement(method: str, args: list[Any], where: str) -> str:
    if method == "run_line_magic" and args:
        magic, line = args[0], (args[1] if len(args) > 1 else "")
        if magic == "mlops":
            return f"_mlnb_export.mlops({line!r})"
        if magic in DROPPED_LINE_MAGICS:
            return f"None  # %{magic} {line} (notebook only)".rstrip()
        raise UsageError(f"{where}: the %{magic} magic cannot run outside IPython: rewrite it in Python")
    if method in ("system", "getoutput"):
        cmd = args[0] if args else ""
        raise UsageError(f"{where}: the shell command !{cmd} cannot be exported: use subprocess.run(...)")
    raise UsageError(f"{where}: IPython-only syntax ({method}) cannot be exported: rewrite it in Python")


def _apply(code: str, edits: list[tuple[int, int, int, int, str]]) -> str:
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def pos(lineno: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))

    text = code
    for lineno, col, end_lineno, end_col, new in sorted(edits, reverse=True):
        start, end = pos(lineno, col), pos(end_lineno, end_col)
        if "#" in new and text[end:].split("\n", 1)[0].strip():  # a comment must end its line
            new = new.split("  #")[0] if not new.startswith("#") else "None"
        text = text[:start] + new + text[end:]
    return text


def shown(text: str) -> str:
    """``text`` as it may appear in a generated comment: itself when printable, else its repr (a
    newline in a file name must never end the comment and start a code line)."""
    return text if text.isprintable() else repr(text)


def indent(code: str, prefix: str = "    ") -> str:
    """Indent code by ``prefix``, leaving the inside of multi-line strings untouched."""
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError):  # pragma: no cover - the code parsed before
        pass
    lines = code.split("\n")
    return "\n".join(
        line if (n in inside or not line.strip()) else prefix + line for n, line in enumerate(lines, start=1)
    ).rstrip("\n")
