"""Static def/use analysis of one cell: which names it reads, binds, mutates, and which files it touches.

Rules (also in docs/export.md):

- A name is *used* when it is read before this cell binds it (evaluation order, Python scoping:
  functions, classes, lambdas and comprehensions have their own scopes).
- A name is *defined* by assignment (plain, augmented, annotated, walrus), ``for``/``with``/``except``
  targets, ``import``, ``def``, ``class`` and ``del``.
- In-place mutation counts as a definition: ``x[...] = ...``, ``x.attr = ...``, ``del x[...]``, any call
  with ``inplace=True``, and **any method call on a name** (``model.fit(...)``, ``rows.append(...)``)
  except well-known read-only methods (``head``, ``describe``, ``predict``, ``score``, ``transform``,
  ``copy``, ``to_*`` ...). Names bound by ``import`` are never mutated (``np.random.seed`` is not a
  redefinition of ``np``).
- A function's free names are what it reads from the notebook when called; a ``global`` statement
  plus assignment, or a mutation of a free name, is what it writes.
- String-literal paths passed to ``pandas.read_*``/``.to_*``, ``open``, ``joblib``/``pickle``
  ``dump``/``load``, ``np.save``/``np.load`` and ``mlnb.data.load`` are the cell's file inputs/outputs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

READ_ONLY_METHODS = frozenset(
    """copy head tail describe info mean sum min max std var median mode count nunique unique value_counts
    groupby agg aggregate apply map astype assign drop dropna fillna rename replace merge join query filter
    sort_values sort_index reset_index set_index select_dtypes isna isnull notna notnull any all corr cov
    round abs clip pivot pivot_table melt sample iterrows itertuples items keys values get predict
    predict_proba predict_log_proba decision_function score transform inverse_transform get_params
    reshape ravel flatten tolist dot split strip lstrip rstrip format startswith endswith lower upper
    encode decode index find where quantile cumsum diff pct_change shift rolling resample loc iloc
    equals duplicated drop_duplicates explode stack unstack squeeze nlargest nsmallest idxmax idxmin
    argmax argmin sorted concat""".split()
)
#: call name → (argument position or keyword names holding the path, "in" or "out")
_FILE_CALLS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "joblib.dump": (1, ("filename",), "out"),
    "joblib.load": (0, ("filename",), "in"),
    "np.save": (0, ("file",), "out"),
    "np.savez": (0, ("file",), "out"),
    "np.savetxt": (0, ("fname",), "out"),
    "np.load": (0, ("file",), "in"),
    "np.loadtxt": (0, ("fname",), "in"),
    "numpy.save": (0, ("file",), "out"),
    "numpy.load": (0, ("file",), "in"),
    "skops.io.dump": (1, ("file",), "out"),
    "sio.dump": (1, ("file",), "out"),
    "skops.io.load": (0, ("file",), "in"),
    "sio.load": (0, ("file",), "in"),
}
_PATH_KEYWORDS = ("path", "filepath_or_buffer", "path_or_buf", "io", "fname", "file")


@dataclass
class Function:
    """What a ``def``/``class`` reads from and writes to the notebook's globals when it runs."""

    name: str
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)


@dataclass
class CellFacts:
    uses: list[str] = field(default_factory=list)  # ordered, first use first
    defs: set[str] = field(default_factory=set)  # bound (assignment, import, def, class ...)
    mutated: set[str] = field(default_factory=set)  # changed in place
    deleted: set[str] = field(default_factory=set)
    imports: dict[str, str] = field(default_factory=dict)  # name → import statement binding it alone
    functions: dict[str, Function] = field(default_factory=dict)
    classes: set[str] = field(default_factory=set)
    star_import: str | None = None  # the module of a `from x import *`
    reads_files: list[str] = field(default_factory=list)
    writes_files: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)  # mlnb.data.load("ref") references
    saves_dataset: bool = False
    trivial: bool = False  # nothing but constants (e.g. a dropped `%matplotlib` line)
    project_commands: bool = False  # `%mlops ...` lines (translated to _mlnb_export.mlops)
    line_of: dict[str, int] = field(default_factory=dict)  # first line a name is used or bound

    @property
    def changes(self) -> set[str]:
        return self.defs | self.mutated | self.deleted


def analyze(code: str) -> CellFacts:
    """Def/use facts of one cell of plain Python.

    >>> f = analyze("import pandas as pd\\ndf = pd.read_csv('a.csv')\\ndf.dropna(inplace=True)")
    >>> sorted(f.defs), sorted(f.mutated), f.reads_files
    (['df', 'pd'], ['df'], ['a.csv'])
    """
    facts = CellFacts()
    tree = ast.parse(code)
    _Module(facts).visit(tree)
    facts.trivial = all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in tree.body)
    return facts


def _root_name(node: ast.AST) -> str | None:
    """``x`` of ``x.a[i].b``; None when a call is in the way (``make().fit()`` changes a new object)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _string_arg(call: ast.Call, position: int, keywords: tuple[str, ...]) -> str | None:
    node = call.args[position] if len(call.args) > position else None
    for kw in call.keywords:
        if kw.arg in keywords:
            node = kw.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _Scope(ast.NodeVisitor):
    """Walks statements in evaluation order, tracking what is bound so far in this scope."""

    def __init__(self, facts: CellFacts) -> None:
        self.facts = facts
        self.bound: set[str] = set()
        self.free: list[str] = []  # read before bound, in order
        self.mutated: set[str] = set()

    # -- names ----------------------------------------------------------------------------
    def load(self, name: str, node: ast.AST) -> None:
        if name not in self.bound and name not in self.free:
            self.free.append(name)
        self.facts.line_of.setdefault(name, getattr(node, "lineno", 0))

    def store(self, name: str, node: ast.AST) -> None:
        self.bound.add(name)
        self.facts.line_of.setdefault(name, getattr(node, "lineno", 0))

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.load(node.id, node)
        else:
            self.store(node.id, node)

    # -- statements with an evaluation order ----------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.target(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.target(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.load(node.target.id, node)
            self.store(node.target.id, node)
        else:
            self.target(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.store(node.target.id, node)  # type: ignore[union-attr]

    def target(self, target: ast.AST) -> None:
        """An assignment target: a name is bound; ``x[i]``/``x.a`` read and mutate ``x``."""
        if isinstance(target, ast.Name):
            self.store(target.id, target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.target(elt)
        elif isinstance(target, ast.Starred):
            self.target(target.value)
        else:  # Attribute / Subscript
            self.visit(target)
            root = _root_name(target)
            if root:
                self.mutated.add(root)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.target(node.target)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.target(item.optional_vars)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.store(node.name, node)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.load(target.id, target)
                self.deleted(target.id)
            else:
                self.visit(target)
                root = _root_name(target)
                if root:
                    self.mutated.add(root)

    def deleted(self, name: str) -> None:
        self.bound.discard(name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            self.store(name, node)
            self.imported(name, ast.unparse(ast.Import(names=[alias])))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.facts.star_import = node.module or "."
                continue
            name = alias.asname or alias.name
            self.store(name, node)
            self.imported(name, ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=node.level)))

    def imported(self, name: str, statement: str) -> None:
        pass

    def visit_Global(self, node: ast.Global) -> None:
        pass

    # -- calls: mutation and files --------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        if any(kw.arg == "inplace" and isinstance(kw.value, ast.Constant) and kw.value.value is True
               for kw in node.keywords):
            root = _root_name(func.value) if isinstance(func, ast.Attribute) else None
            if root:
                self.mutated.add(root)
        if isinstance(func, ast.Attribute) and func.attr not in READ_ONLY_METHODS and not func.attr.startswith(
            ("to_", "read_", "get_", "is_", "_")
        ):
            root = _root_name(func.value)
            if root:
                self.mutated.add(root)
        self.files(node)

    def files(self, node: ast.Call) -> None:
        func, facts = node.func, self.facts
        dotted = _dotted(func) or ""
        if dotted in ("mlnb.data.load", "mlnb.data.path"):
            ref = _string_arg(node, 0, ("ref",))
            if ref:
                facts.datasets.append(ref)
            return
        if dotted == "_mlnb_export.mlops":
            facts.project_commands = True
            return
        if dotted in ("mlnb.data.save", "mlnb.data.add"):
            facts.saves_dataset = True
            return
        if dotted in _FILE_CALLS:
            position, keywords, direction = _FILE_CALLS[dotted]
            path = _string_arg(node, position, keywords)
        elif isinstance(func, ast.Name) and func.id == "open":
            path = _string_arg(node, 0, ("file",))
            mode = _string_arg(node, 1, ("mode",)) or "r"
            direction = "out" if set(mode) & set("wax") else "in"
        elif isinstance(func, ast.Attribute) and func.attr.startswith("read_"):
            path, direction = _string_arg(node, 0, _PATH_KEYWORDS), "in"
        elif isinstance(func, ast.Attribute) and func.attr.startswith("to_"):
            path, direction = _string_arg(node, 0, _PATH_KEYWORDS), "out"
        else:
            return
        if path:
            (facts.writes_files if direction == "out" else facts.reads_files).append(path)

    # -- nested scopes --------------------------------------------------------------------
    def nested(self, params: list[str], body: list[ast.AST]) -> _Function:
        scope = _Function(self.facts, params)
        scope.body(body)
        return scope

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        args = node.args
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        for annotation in _annotations(args, node.returns):
            self.visit(annotation)
        scope = self.nested(_params(args), node.body)
        self.defined_function(node.name, scope)
        self.store(node.name, node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]:
            self.visit(default)
        scope = self.nested(_params(node.args), [ast.Expr(node.body)])
        self.absorb(scope)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        scope = _Function(self.facts, [])
        scope.body(node.body)
        self.defined_function(node.name, scope)
        self.store(node.name, node)

    def comprehension(self, node: ast.AST, elements: list[ast.AST]) -> None:
        generators = node.generators  # type: ignore[attr-defined]
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        scope = _Function(self.facts, [])
        for i, gen in enumerate(generators):
            if i:
                scope.visit(gen.iter)
            scope.target(gen.target)
            for cond in gen.ifs:
                scope.visit(cond)
        for elt in elements:
            scope.visit(elt)
        self.absorb(scope)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self.comprehension(node, [node.elt])

    visit_SetComp = visit_ListComp
    visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self.comprehension(node, [node.key, node.value])

    def absorb(self, scope: _Function) -> None:
        """A lambda or comprehension runs now: its free names are read now."""
        for name in scope.free:
            if name not in scope.globals:
                self.load(name, scope)
        self.mutated |= scope.mutated - scope.bound

    def defined_function(self, name: str, scope: _Function) -> None:
        pass


class _Function(_Scope):
    """A function, class body, lambda or comprehension scope."""

    def __init__(self, facts: CellFacts, params: list[str]) -> None:
        super().__init__(facts)
        self.bound.update(params)
        self.globals: set[str] = set()
        self.functions: list[_Function] = []  # nested scopes, whose reads are this scope's too

    def body(self, statements: list[ast.AST]) -> None:
        # Python decides locals for the whole body up front: any binding makes a name local.
        local = _bindings(statements) - self.globals
        for stmt in statements:
            self.visit(stmt)
        self.free = [n for n in self.free if n not in local or n in self.globals]
        for inner in self.functions:
            self.free += [n for n in inner.reads() if n not in local and n not in self.free]

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    visit_Nonlocal = visit_Global

    def store(self, name: str, node: ast.AST) -> None:
        if name not in self.globals:
            self.bound.add(name)
        else:
            self.mutated.add(name)

    def nested(self, params: list[str], body: list[ast.AST]) -> _Function:
        scope = super().nested(params, body)
        self.functions.append(scope)
        return scope

    def defined_function(self, name: str, scope: _Function) -> None:
        if scope not in self.functions:
            self.functions.append(scope)

    def reads(self) -> list[str]:
        return [n for n in self.free if n not in self.bound or n in self.globals]

    def writes(self) -> set[str]:
        inner: set[str] = set()
        for fn in self.functions:
            inner |= fn.writes()
        return (self.mutated - self.bound) | (self.mutated & self.globals) | inner


class _Module(_Scope):
    """A cell's top level: records facts as it goes."""

    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:
            self.visit(stmt)
        facts = self.facts
        facts.uses = list(self.free)
        facts.defs = set(self.bound) | facts.defs
        facts.mutated = self.mutated - set(facts.imports)

    def deleted(self, name: str) -> None:
        super().deleted(name)
        self.facts.deleted.add(name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        super().visit_ClassDef(node)
        self.facts.classes.add(node.name)

    def imported(self, name: str, statement: str) -> None:
        self.facts.imports[name] = statement

    def defined_function(self, name: str, scope: _Function) -> None:
        self.facts.functions[name] = Function(name, set(scope.reads()), scope.writes())


def _params(args: ast.arguments) -> list[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    names = [a.arg for a in every]
    for extra in (args.vararg, args.kwarg):
        if extra is not None:
            names.append(extra.arg)
    return names


def _annotations(args: ast.arguments, returns: ast.AST | None) -> list[ast.AST]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    found = [a.annotation for a in every if a is not None and a.annotation is not None]
    return [*found, returns] if returns is not None else found


def _bindings(statements: list[ast.AST]) -> set[str]:
    """Names bound anywhere in a function body (not in nested scopes)."""
    names: set[str] = set()
    stack = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        stack.extend(ast.iter_child_nodes(node))
    return names
