"""File paths held in variables: constant folding of the paths a notebook reads and writes.

``defuse`` sees a path only when it is a string literal at the call. Notebooks often build it
first: ``path = "model.pkl"; joblib.dump(m, path)``, ``os.path.join("models", "best.joblib")``,
``Path("out") / "x.csv"``, ``f"{prefix}_{seed}.csv"`` or ``"{}.csv".format(name)`` of parameters,
a constant set in setup or in an earlier stage. Walking the cells in notebook order with an
environment of known values (parameters first), every path that folds to a constant becomes a
file read or write of its cell. A write whose path does not fold becomes a warning naming the
cell, the line and what to do — unless it lands in a folder the same stage creates
(``os.makedirs(out_dir)``), in which case the folder is the output.

Folding is conservative: a name bound in a loop, in one branch of an ``if``, by ``import``,
``def`` or a call is unknown from then on; function bodies are not followed.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from .defuse import _FILE_CALLS, _PATH_KEYWORDS, _bindings, _dotted, _root_name

#: pandas/xarray/geopandas writers that take a path first (``to_dict``/``to_numpy`` do not).
_TO_FILE = frozenset("""to_csv to_parquet to_json to_pickle to_excel to_feather to_hdf to_stata to_html to_latex
    to_markdown to_xml to_orc to_netcdf to_file to_sql_file""".split())
#: call name → (position, keywords, direction) beyond defuse's table
_MORE_CALLS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "np.savez_compressed": (0, ("file",), "out"),
    "numpy.savez": (0, ("file",), "out"),
    "numpy.savetxt": (0, ("fname",), "out"),
    "torch.save": (1, ("f",), "out"),
    "torch.load": (0, ("f",), "in"),
    "pd.read_pickle": (0, ("filepath_or_buffer",), "in"),
    "pd.ExcelWriter": (0, ("path",), "out"),
}
_CALLS = {**_FILE_CALLS, **_MORE_CALLS}
#: a cell without any of these calls no file function (a cheap test before walking its code)
_ACCESS_WORDS = re.compile(r"\b(?:to_\w+|read_\w+|open|save\w*|load\w*|dump|mkdir|makedirs|write_\w+|touch|ExcelWriter)\s*\(")
_NESTED = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: calls whose result is a file-like object, not a path (writing into it is not a file of its own)
_BUFFERS = frozenset({"io.StringIO", "io.BytesIO", "StringIO", "BytesIO", "tempfile.TemporaryFile",
                      "tempfile.NamedTemporaryFile", "tempfile.SpooledTemporaryFile"})
_MKDIR = frozenset({"os.makedirs", "os.mkdir"})
_OPEN = frozenset({"open", "io.open", "gzip.open", "bz2.open", "lzma.open"})
_JOIN = frozenset({"os.path.join", "posixpath.join", "osp.join", "path.join"})
_PATH_TYPES = frozenset({"Path", "pathlib.Path", "PurePath", "PurePosixPath", "pathlib.PurePath"})


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
OPENED: Any = _Unknown()  # a file object from open(...): the open call is the file access


@dataclass(frozen=True)
class Partial:
    """A path whose beginning is known (``os.path.join(out_dir, name)``): ``prefix`` up to the unknown part."""

    prefix: str

    @property
    def folder(self) -> str:
        return self.prefix.rpartition("/")[0] if "/" in self.prefix else ""


@dataclass
class Unresolved:
    line: int
    code: str
    folder: str  # the known folder the file lands in, "" when nothing is known


@dataclass
class CellPaths:
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # created with mkdir/makedirs
    unresolved: list[Unresolved] = field(default_factory=list)


def scan(cells: list[Any], params: dict[str, Any], notebook: Path | None = None) -> dict[int, CellPaths]:
    """Cell number → the file paths its code reads and writes, folded over the notebook in order.

    >>> from types import SimpleNamespace as C
    >>> found = scan([C(number=1, code='p = f"m_{seed}.pkl"\\njoblib.dump(m, p)')], {"seed": 3})
    >>> found[1].writes
    ['m_3.pkl']
    """
    code_cells = [c for c in cells if not getattr(c, "parameters", False)]
    accessing = [c for c in code_cells if _ACCESS_WORDS.search(c.code)]
    trees: dict[int, ast.Module] = {}
    found, dynamic = _fold(accessing, {}, trees)  # first only the cells that call a file function
    if dynamic:  # a path is not a literal: fold the whole notebook, in order, from the parameters
        found, _ = _fold(code_cells, dict(params), trees)
    found = {c.number: found.get(c.number, CellPaths()) for c in cells}
    for cell in cells:
        paths = found[cell.number]
        if paths.unresolved and notebook is not None:  # lines as the notebook shows them
            shift = _line_shift(notebook, cell)
            for miss in paths.unresolved:
                miss.line = max(1, miss.line + shift)
    return found


def _fold(cells: list[Any], env: dict[str, Any], trees: dict[int, ast.Module]) -> tuple[dict[int, CellPaths], bool]:
    """Fold ``cells`` in order; also whether any file path was not a literal (then ``env`` mattered)."""
    found: dict[int, CellPaths] = {}
    dynamic = False
    for cell in cells:
        paths = found[cell.number] = CellPaths()
        if cell.number not in trees:
            try:
                trees[cell.number] = ast.parse(cell.code)
            except SyntaxError:  # cells were checked when read; nothing to find in one that is not Python
                continue
        folder = _Folder(env, paths, cell.code, bool(_ACCESS_WORDS.search(cell.code)))
        folder.block(trees[cell.number].body)
        dynamic = dynamic or folder.dynamic
    return found, dynamic


def _line_shift(notebook: Path, cell: Any) -> int:
    """Lines between the notebook cell's first line and the first line of ``cell.code``
    (a ``%%mlops stage`` marker line, or the ``with`` line a ``%%mlops run`` body gets)."""
    try:
        raw = json.loads(notebook.read_text(encoding="utf-8"))["cells"][cell.number - 1]["source"]
    except (OSError, ValueError, LookupError, TypeError):
        return 0
    raw = "".join(raw) if isinstance(raw, list) else str(raw)
    body = getattr(cell, "source", "") or raw
    shift = raw[: len(raw) - len(body)].count("\n") if raw.endswith(body) else 0
    return shift - 1 if cell.code.startswith("with _mlnb_export.run(") else shift


class _Folder:
    """Runs statements abstractly: known values in ``env``, file accesses into ``paths``."""

    def __init__(self, env: dict[str, Any], paths: CellPaths, code: str, may_access: bool = True) -> None:
        self.env = env
        self.paths = paths
        self.code = code
        self.may_access = may_access  # False: the code names no file function, only its values matter
        self.dynamic = False  # a path, mode or path object here is not a literal: its value needs the env

    # -- statements -----------------------------------------------------------------------
    def block(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            self.forget(_bindings([stmt]))  # every iteration may see other values
            self.accesses(stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else stmt.test)
            self.block([*stmt.body, *stmt.orelse])
            self.forget(_bindings([stmt]))  # zero or many iterations ran
        elif isinstance(stmt, ast.If):
            self.accesses(stmt.test)
            before = dict(self.env)
            self.block(stmt.body)
            after_body = dict(self.env)
            self.env.clear()
            self.env.update(before)
            self.block(stmt.orelse)
            for name in list(self.env):
                if name not in after_body or after_body[name] != self.env[name]:
                    del self.env[name]
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.accesses(item.context_expr)
                if item.optional_vars is not None:
                    self.forget(_bindings([ast.Expr(item.optional_vars)]) | _names(item.optional_vars))
                    if isinstance(item.optional_vars, ast.Name) and self.value(item.context_expr) is OPENED:
                        self.env[item.optional_vars.id] = OPENED
            self.block(stmt.body)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.block(stmt.body)  # type: ignore[attr-defined]
            for part in [*(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]:  # type: ignore[attr-defined]
                self.forget(_bindings([stmt]))  # any line of the try body may or may not have run
                self.block(part)
            self.forget(_bindings([stmt]))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.forget({stmt.name})  # bodies run when called, with values we cannot know here
        else:
            changed = self.accesses(stmt)
            self.bind(stmt)
            for name in changed:  # x[k] = ... / x.update(...) change a list or dict x (a str or Path cannot change)
                if isinstance(self.env.get(name), (list, dict)):
                    del self.env[name]

    def bind(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
            if isinstance(target, ast.Name):
                self.set(target.id, self.value(value))
                return
            if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
                    and len(target.elts) == len(value.elts):
                values = [self.value(v) for v in value.elts]
                for t, v in zip(target.elts, values):
                    if isinstance(t, ast.Name):
                        self.set(t.id, v)
                    else:
                        self.forget(_names(t))
                return
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            self.set(stmt.target.id, self.value(stmt.value))
            return
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            self.set(name, self.value(ast.BinOp(ast.Name(name, ast.Load()), stmt.op, stmt.value)))
            return
        if ":=" in self.code or not isinstance(stmt, (ast.Expr, ast.Return, ast.Raise, ast.Assert, ast.Pass)):
            self.forget(_bindings([stmt]))  # import, del, a walrus ...

    def set(self, name: str, value: Any) -> None:
        if value is UNKNOWN or isinstance(value, Partial):
            self.env.pop(name, None)
            if isinstance(value, Partial):
                self.env[name] = value
        else:
            self.env[name] = value

    def forget(self, names: set[str]) -> None:
        for name in names:
            self.env.pop(name, None)

    # -- file accesses --------------------------------------------------------------------
    def accesses(self, node: ast.AST) -> list[str]:
        """Record the file accesses of the calls in ``node`` (not inside lambdas or nested
        functions); returns the names whose value a method call or an item/attribute store may change."""
        changed: list[str] = []
        if not self.may_access and not any(isinstance(v, (list, dict)) for v in self.env.values()):
            return changed  # nothing to record and no container whose change matters
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, _NESTED):
                continue
            if isinstance(current, ast.Call):
                self.call(current)
                if isinstance(current.func, ast.Attribute):
                    changed.append(_root_name(current.func.value) or "")
            elif isinstance(current, (ast.Attribute, ast.Subscript)) and not isinstance(current.ctx, ast.Load):
                changed.append(_root_name(current.value) or "")
            stack.extend(ast.iter_child_nodes(current))
        return changed

    def call(self, node: ast.Call) -> None:
        func = node.func
        dotted = _dotted(func) or ""
        method = func.attr if isinstance(func, ast.Attribute) else ""
        if dotted in _CALLS:
            position, keywords, direction = _CALLS[dotted]
            self.access(node, _argument(node, position, keywords), direction)
        elif dotted in _OPEN:
            mode = self.literal(_argument(node, 1, ("mode",)) or ast.Constant("r"))
            direction = "out" if isinstance(mode, str) and set(mode) & set("wax") else "in"
            self.access(node, _argument(node, 0, ("file", "filename")), direction)
        elif dotted in _MKDIR:
            self.folder(node, _argument(node, 0, ("name", "path")))
        elif method in _TO_FILE and (node.args or any(k.arg in _PATH_KEYWORDS for k in node.keywords)):
            self.access(node, _argument(node, 0, _PATH_KEYWORDS), "out")
        elif method.startswith("read_") and (node.args or any(k.arg in _PATH_KEYWORDS for k in node.keywords)):
            self.access(node, _argument(node, 0, _PATH_KEYWORDS), "in", warn=False)
        elif method == "savefig":
            self.access(node, _argument(node, 0, ("fname",)), "out")
        elif method in ("write_text", "write_bytes", "read_text", "read_bytes", "open", "mkdir", "touch"):
            target = self.literal(func.value)  # type: ignore[union-attr]
            if not isinstance(target, PurePosixPath):
                return  # a str method, a file object ... not a path we can see
            if method == "mkdir":
                self.folder(node, func.value)  # type: ignore[union-attr]
            elif method == "open":
                mode = self.literal(_argument(node, 0, ("mode",)) or ast.Constant("r"))
                out = isinstance(mode, str) and bool(set(mode) & set("wax"))
                self.access(node, func.value, "out" if out else "in")  # type: ignore[union-attr]
            else:
                self.access(node, func.value, "in" if method.startswith("read") else "out")  # type: ignore[union-attr]

    def access(self, call: ast.Call, arg: ast.AST | None, direction: str, warn: bool = True) -> None:
        if arg is None:
            return
        value = self.literal(arg)
        if value is OPENED:
            return
        path = _as_path(value)
        if path is not None:
            (self.paths.writes if direction == "out" else self.paths.reads).append(path)
        elif direction == "out" and warn and not _not_a_path(value):
            folder = value.folder if isinstance(value, Partial) else ""
            code = ast.get_source_segment(self.code, call) or ast.unparse(call)
            self.paths.unresolved.append(Unresolved(call.lineno, " ".join(code.split()), folder))

    def folder(self, call: ast.Call, arg: ast.AST | None) -> None:
        path = _as_path(self.literal(arg)) if arg is not None else None
        if path is not None:
            self.paths.folders.append(path)

    def literal(self, node: ast.AST) -> Any:
        """The value of a path argument, noting when it is not a literal."""
        if not isinstance(node, ast.Constant):
            self.dynamic = True
        return self.value(node)

    # -- values ---------------------------------------------------------------------------
    def value(self, node: ast.AST) -> Any:
        try:
            return self._value(node)
        except Exception:  # folding must never break an export: a failing operation is unknown
            return UNKNOWN

    def _value(self, node: ast.AST) -> Any:  # noqa: C901 - one case per node type
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.env.get(node.id, UNKNOWN)
        if isinstance(node, ast.JoinedStr):
            return self.fstring(node)
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self.value(e) for e in node.elts]
            return UNKNOWN if any(_unknown(i) for i in items) else (tuple(items) if isinstance(node, ast.Tuple) else items)
        if isinstance(node, ast.BinOp):
            return _binop(self.value(node.left), node.op, self.value(node.right))
        if isinstance(node, ast.Subscript):
            container, key = self.value(node.value), self.value(node.slice)
            if isinstance(container, (dict, list, tuple, str)) and not _unknown(key):
                return container[key]
            return UNKNOWN
        if isinstance(node, ast.Attribute):
            if _dotted(node) in ("sys.stdout", "sys.stderr"):
                return OPENED
            base = self.value(node.value)
            if isinstance(base, PurePosixPath) and node.attr in ("parent", "name", "stem", "suffix"):
                return getattr(base, node.attr)
            return UNKNOWN
        if isinstance(node, ast.Call):
            return self.call_value(node)
        return UNKNOWN

    def fstring(self, node: ast.JoinedStr) -> Any:
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text += str(part.value)
                continue
            assert isinstance(part, ast.FormattedValue)
            value = self.value(part.value)
            spec = self.value(part.format_spec) if part.format_spec is not None else ""
            if _unknown(value) or _unknown(spec):
                return Partial(text)
            if _huge(spec):
                return Partial(text)
            value = {115: str, 114: repr, 97: ascii}.get(part.conversion, lambda v: v)(value)
            text += format(value, spec)
        return text

    def call_value(self, node: ast.Call) -> Any:
        func = node.func
        dotted = _dotted(func) or ""
        if dotted in _OPEN or dotted in _BUFFERS or dotted == "pd.ExcelWriter":
            return OPENED
        args = [self.value(a) for a in node.args]
        if node.keywords and dotted not in ("str.format",) and not (isinstance(func, ast.Attribute)
                                                                    and func.attr == "format"):
            return UNKNOWN
        if dotted in _JOIN:
            return _join(args, posixpath.join)
        if dotted in _PATH_TYPES:
            joined = _join(args, posixpath.join) if args else "."
            return PurePosixPath(joined) if isinstance(joined, str) else joined
        if dotted == "str" and len(args) == 1 and not _unknown(args[0]):
            return _text(args[0])
        if not isinstance(func, ast.Attribute):
            return UNKNOWN
        base = self.value(func.value)
        if func.attr == "format" and isinstance(base, str) and not _huge(base):
            kwargs = {k.arg: self.value(k.value) for k in node.keywords if k.arg}
            if any(_unknown(v) for v in [*args, *kwargs.values()]) or len(kwargs) != len(node.keywords):
                return Partial(base.split("{", 1)[0])
            return base.format(*args, **kwargs)
        if isinstance(base, PurePosixPath) and not any(_unknown(a) for a in args):
            if func.attr == "joinpath":
                return base.joinpath(*map(_text, args))
            if func.attr in ("with_suffix", "with_name", "with_stem"):
                return getattr(base, func.attr)(*args)
            if func.attr == "as_posix":
                return base.as_posix()
        if isinstance(base, PurePosixPath) and func.attr == "joinpath":
            return Partial(base.as_posix() + "/")
        return UNKNOWN


def _argument(call: ast.Call, position: int, keywords: tuple[str, ...]) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg in keywords:
            return kw.value
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[:position + 1]):
        return call.args[position]
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _unknown(value: Any) -> bool:
    return value is UNKNOWN or value is OPENED or isinstance(value, Partial)


def _not_a_path(value: Any) -> bool:
    """A known value that is not a path (a buffer index, None ...): nothing to warn about."""
    return not _unknown(value) and not isinstance(value, (str, PurePosixPath))


def _huge(template: Any) -> bool:
    """A format with a width or precision of 5+ digits (``{:>999999999}``): not folded, it could fill memory."""
    return isinstance(template, str) and re.search(r"\d{5,}", template) is not None


def _text(value: Any) -> str:
    return value.as_posix() if isinstance(value, PurePosixPath) else str(value)


def _join(parts: list[Any], join: Callable[..., str]) -> Any:
    """``os.path.join``/``Path(...)`` of folded parts; a known beginning makes a :class:`Partial`."""
    known: list[str] = []
    for part in parts:
        if isinstance(part, (str, PurePosixPath)):
            known.append(_text(part))
            continue
        tail = part.prefix if isinstance(part, Partial) else ""
        return Partial(join(*known, tail)) if known or tail else UNKNOWN
    return join(*known) if known else UNKNOWN


def _binop(left: Any, op: ast.operator, right: Any) -> Any:
    if isinstance(op, ast.Div) and isinstance(left, PurePosixPath):
        if isinstance(right, (str, PurePosixPath)):
            return left / right
        return Partial(left.as_posix() + "/" + (right.prefix if isinstance(right, Partial) else ""))
    if isinstance(op, ast.Add) and isinstance(left, str):
        if isinstance(right, str):
            return left + right
        return Partial(left + (right.prefix if isinstance(right, Partial) else ""))
    if isinstance(op, ast.Add) and isinstance(left, Partial):
        return left
    if isinstance(op, ast.Mod) and isinstance(left, str) and not _huge(left):
        return Partial(left.split("%", 1)[0]) if _unknown(right) else left % right
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers) and not isinstance(left, bool):
        ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}
        if type(op) in ops:
            return ops[type(op)](left, right)
    return UNKNOWN


def _as_path(value: Any) -> str | None:
    if isinstance(value, PurePosixPath):
        return value.as_posix()
    if isinstance(value, str) and value:
        return value
    return None


def stage_files(cells: list[Any], found: dict[int, CellPaths], normal: Callable[[str], str | None]
                ) -> tuple[list[str], list[str], list[str]]:
    """``(reads, writes, warnings)`` of the cells a stage runs (its setup cells and its own).

    A write whose path is not known but lands in a folder the stage creates makes that folder an
    output (and the files declared inside it are covered by it); any other such write is a warning.
    """
    reads, writes, folders, warnings = [], [], [], []
    for cell in cells:
        paths = found.get(cell.number, CellPaths())
        reads += paths.reads
        writes += paths.writes
        folders += [f for f in map(normal, paths.folders) if f and f != "."]
    declared = [d for d in (normal(o) for c in cells for o in getattr(c, "outs", ())) if d]
    for cell in cells:
        for miss in found.get(cell.number, CellPaths()).unresolved:
            folder = normal(miss.folder) if miss.folder else None
            made = [f for f in folders if folder and (folder == f or folder.startswith(f + "/"))]
            if made:
                writes.append(made[0])
                continue
            if declared and (not folder or any(folder == d or folder.startswith(d + "/") for d in declared)):
                continue  # the stage marker declares what the code writes
            where = f"{cell.where}, line {miss.line}"
            fix = f"--outs {folder}/" if folder and folder != "." else "--outs PATH"
            warnings.append(f"{where}: `{miss.code}` writes a file whose path is computed at run time, so it is "
                            f"not an output of the stage: add `{fix}` to the stage marker, or build the path "
                            "from literals and parameters")
    return reads, writes, warnings


def without_nested(paths: list[str]) -> list[str]:
    """Outputs with those inside another output dropped (DVC refuses overlapping outputs)."""
    chosen = sorted(set(paths))
    return [p for p in chosen if not any(p.startswith(q.rstrip("/") + "/") for q in chosen if q != p)]
