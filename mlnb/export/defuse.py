"""Static def/use analysis of one cell: which names it reads, binds, mutates, and which files it touches.

Rules (also in docs/export.md):

- A name is *used* when it is read before this cell binds it (evaluation order, Python scoping:
  functions, classes, lambdas and comprehensions have their own scopes).
- A name is *defined* by assignment (plain, augmented, annotated, walrus), ``for``/``with``/``except``
  targets, ``import``, ``def``, ``class`` and ``del``.
- In-place mutation counts as a definition: ``x[...] = ...``, ``x.attr = ...``, ``del x[...]``, any call
  with ``inplace=True``, **any method call on a name or on something reached from it**
  (``model.fit(...)``, ``pipe.steps[0][1].fit(...)``, ``d["k"].append(...)``) except well-known
  read-only methods (``head``, ``describe``, ``predict``, ``score``, ``transform``, ``copy``, ``to_*``
  ...), the first argument of ``shuffle``-like functions, and a parameter a notebook function mutates.
  Names bound by ``import`` are never mutated (``np.random.seed`` is not a redefinition of ``np``).
- **Aliases**: a name bound to a value that may share state with other names is their alias, and
  mutating either mutates both: ``for``/``with`` targets and comprehension targets (``for name, m in
  models.items()``, ``enumerate``, ``zip`` ...), ``m = models["lr"]``, ``fitted = model.fit(X, y)`` (a
  method's result is its receiver), a plain function's result (it may hold its arguments). Fresh
  values: literals, read-only method results (``df.drop(...)``, ``model.predict(X)``), calls through a
  module (``np.asarray(x)``), ``FRESH_FUNCTIONS`` and metrics. Imported names and names holding a
  number or string are never changed in place (the planner drops them).
- A function's free names are what it reads from the notebook when called; a ``global`` statement
  plus assignment, or a mutation of a free name, is what it writes.
- String-literal paths passed to ``pandas.read_*``/``.to_*``, ``open``, ``joblib``/``pickle``
  ``dump``/``load``, ``np.save``/``np.load`` and ``mlnb.data.load`` are the cell's file inputs/outputs.
"""

from __future__ import annotations

import ast
import textwrap
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
    argmax argmin sorted concat plot hist boxplot item memory_usage isin between corrwith nunique
    count_nonzero __getitem__ __len__ __contains__ __iter__ __repr__ __str__""".split()
)
#: Read-only methods whose result is (part of) the receiver itself: an alias, not a fresh value.
PART_METHODS = frozenset("items keys values get ravel reshape squeeze view transpose iterrows itertuples".split())
#: Functions whose result never shares state with their arguments (also any ``*_score``,
#: ``*_error``, ``*_matrix``, ``*_report``: metrics).
FRESH_FUNCTIONS = frozenset(
    "len str int float bool repr print range sum abs round isinstance issubclass type id hash deepcopy format "
    "hasattr callable any all ord chr train_test_split clone cross_val_score cross_val_predict cross_validate".split()
)
#: Functions (by last dotted part) that change their first argument in place.
MUTATES_FIRST_ARG = frozenset("shuffle copyto fill_diagonal put place putmask heapify heappush heappop "
                              "heapreplace insort setattr delattr".split())
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
    #: names read when the ``def``/``class`` statement itself runs (decorators, defaults, bases ...)
    defined_with: set[str] = field(default_factory=set)
    #: the statement's own code, dedented; None when it sits inside a block and cannot be lifted out
    source: str | None = None
    line: int = 0
    params: list[str] = field(default_factory=list)
    positional: list[str] = field(default_factory=list)  # parameters that take positional arguments
    mutated_params: set[str] = field(default_factory=set)  # parameters changed in place
    calls: list[Call] = field(default_factory=list)  # calls of plain names, for mutation via parameters


@dataclass
class Call:
    """``name(args)``: what each argument may share state with (in the caller's names)."""

    name: str
    args: list[set[str]] = field(default_factory=list)
    keywords: dict[str, set[str]] = field(default_factory=dict)


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
    aliases: dict[str, set[str]] = field(default_factory=dict)  # name bound here → names it may share state with
    calls: list[Call] = field(default_factory=list)  # calls of plain names (a notebook function may mutate args)
    loads: set[str] = field(default_factory=set)  # every name read anywhere in the cell
    constants: set[str] = field(default_factory=set)  # names last bound here to an immutable scalar
    line_of: dict[str, int] = field(default_factory=dict)  # first line a name is used or bound

    @property
    def changes(self) -> set[str]:
        return self.defs | self.mutated | self.deleted


def analyze(code: str, modules: frozenset[str] = frozenset(), tree: ast.Module | None = None) -> CellFacts:
    """Def/use facts of one cell of plain Python.

    >>> f = analyze("import pandas as pd\\ndf = pd.read_csv('a.csv')\\ndf.dropna(inplace=True)")
    >>> sorted(f.defs), sorted(f.mutated), f.reads_files
    (['df', 'pd'], ['df'], ['a.csv'])
    """
    facts = CellFacts()
    tree = tree or ast.parse(code)
    _Module(facts, modules | frozenset(imported_names(tree)), code).visit(tree)
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

    def __init__(self, facts: CellFacts, modules: frozenset[str] = frozenset()) -> None:
        self.facts = facts
        self.modules = modules  # names bound by import (in any cell): never aliased, never mutated
        self.bound: set[str] = set()
        self.free: list[str] = []  # read before bound, in order
        self.mutated: set[str] = set()
        self.aliases: dict[str, set[str]] = {}  # name → names its value may share state with
        self.calls: list[Call] = []

    # -- aliases and mutation -------------------------------------------------------------
    def sources(self, node: ast.AST | None) -> set[str]:
        """Names whose objects the value of ``node`` may share state with (see the module rules)."""
        if node is None or isinstance(node, (ast.Constant, ast.JoinedStr, ast.Compare, ast.Lambda)):
            return set()
        if isinstance(node, ast.Name):
            return {node.id, *self.aliases.get(node.id, ())} - self.modules
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            parts = [g.iter for g in node.generators] + ([node.key, node.value] if isinstance(node, ast.DictComp)
                                                         else [node.elt])
            return set().union(*map(self.sources, parts)) - _comprehension_names(node)
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred, ast.NamedExpr, ast.Await)):
            return self.sources(node.value)
        if isinstance(node, ast.Call):
            func, found = node.func, set()
            if isinstance(func, ast.Attribute):
                if func.attr in READ_ONLY_METHODS and func.attr not in PART_METHODS or func.attr.startswith(
                        ("to_", "get_", "is_")):
                    return set()
                return self.sources(func.value)  # `fitted = model.fit(X, y)` is `model`
            elif isinstance(func, ast.Name) and _fresh(func.id):
                return set()
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                found |= self.sources(arg)
            return found
        found = set()
        for child in ast.iter_child_nodes(node):  # containers, operators, conditionals, comprehensions
            if isinstance(child, ast.expr):
                found |= self.sources(child)
        return found

    def alias(self, target: ast.AST, origins: set[str]) -> None:
        """``target`` now holds a value sharing state with ``origins``."""
        if isinstance(target, ast.Name):
            if origins - {target.id}:
                self.aliases[target.id] = origins - {target.id}
            else:
                self.aliases.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.alias(elt, origins)
        elif isinstance(target, ast.Starred):
            self.alias(target.value, origins)
        else:  # x[k] = v / x.a = v: x now holds v
            root = _root_name(target)
            if root and origins - {root}:
                self.aliases[root] = self.aliases.get(root, set()) | (origins - {root})

    def mutate(self, name: str) -> None:
        """``name`` changes in place, and so does every name it may share state with."""
        self.mutated.add(name)
        self.mutated |= self.aliases.get(name, set())
        self.mutated |= {other for other, origins in self.aliases.items() if name in origins}

    # -- names ----------------------------------------------------------------------------
    def load(self, name: str, node: ast.AST) -> None:
        if name not in self.bound and name not in self.free:
            self.free.append(name)
        self.facts.loads.add(name)
        self.facts.line_of.setdefault(name, getattr(node, "lineno", 0))

    def store(self, name: str, node: ast.AST) -> None:
        self.bound.add(name)
        self.facts.line_of.setdefault(name, getattr(node, "lineno", 0))
        self.constant(name, False)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.load(node.id, node)
        else:
            self.store(node.id, node)

    # -- statements with an evaluation order ----------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        origins = self.sources(node.value)
        for target in node.targets:
            self.target(target)
            self.alias(target, origins)
            if isinstance(target, ast.Name):
                self.constant(target.id, _is_scalar(node.value))

    def constant(self, name: str, scalar: bool) -> None:
        pass

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.target(node.target)
            self.alias(node.target, self.sources(node.value))

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.load(node.target.id, node)
            if node.target.id in self.aliases:  # `lst += [...]` extends a shared list in place
                self.mutate(node.target.id)
            self.store(node.target.id, node)
        else:
            self.target(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.store(node.target.id, node)  # type: ignore[union-attr]
        self.alias(node.target, self.sources(node.value))

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
                self.mutate(root)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.target(node.target)
        self.alias(node.target, self.sources(node.iter))  # the loop variable is an element of the iterable
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.target(item.optional_vars)
                self.alias(item.optional_vars, self.sources(item.context_expr))
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
                    self.mutate(root)

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
        changed: set[str] = set()
        if any(kw.arg == "inplace" and isinstance(kw.value, ast.Constant) and kw.value.value is True
               for kw in node.keywords):
            changed |= self.sources(func.value) if isinstance(func, ast.Attribute) else set()
        if isinstance(func, ast.Attribute) and func.attr not in READ_ONLY_METHODS and not func.attr.startswith(
            ("to_", "read_", "get_", "is_")
        ):
            changed |= self.sources(func.value)  # the receiver, through chains, calls and aliases
        last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if last in MUTATES_FIRST_ARG and node.args:
            changed |= self.sources(node.args[0])
        for name in sorted(changed):
            self.mutate(name)
        if isinstance(func, ast.Name) and not _fresh(func.id):
            self.calls.append(Call(func.id, [self.sources(a) for a in node.args],
                                   {k.arg: self.sources(k.value) for k in node.keywords if k.arg}))
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
        scope = _Function(self.facts, params, self.modules)
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
        scope.positional = [a.arg for a in [*args.posonlyargs, *args.args]]
        self.defined_function(node.name, scope, node)
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
        scope = _Function(self.facts, [], self.modules)
        scope.body(node.body)
        self.defined_function(node.name, scope, node)
        self.store(node.name, node)

    def comprehension(self, node: ast.AST, elements: list[ast.AST]) -> None:
        generators = node.generators  # type: ignore[attr-defined]
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        scope = _Function(self.facts, [], self.modules)
        for i, gen in enumerate(generators):
            if i:
                scope.visit(gen.iter)
            scope.target(gen.target)
            scope.alias(gen.target, (scope if i else self).sources(gen.iter))
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
        for name in sorted(scope.mutated - scope.bound):
            self.mutate(name)
        self.calls += [c for c in scope.calls if c.name not in scope.bound]

    def defined_function(self, name: str, scope: _Function, node: ast.AST) -> None:
        pass


class _Function(_Scope):
    """A function, class body, lambda or comprehension scope."""

    def __init__(self, facts: CellFacts, params: list[str], modules: frozenset[str] = frozenset()) -> None:
        super().__init__(facts, modules)
        self.params = list(params)
        self.positional: list[str] = []
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

    def defined_function(self, name: str, scope: _Function, node: ast.AST) -> None:
        if scope not in self.functions:
            self.functions.append(scope)

    def reads(self) -> list[str]:
        return [n for n in self.free if n not in self.bound or n in self.globals]

    def writes(self) -> set[str]:
        inner: set[str] = set()
        for fn in self.functions:
            inner |= fn.writes()
        return (self.mutated - self.bound) | (self.mutated & self.globals) | inner

    def all_calls(self) -> list[Call]:
        """Calls in this scope and the scopes inside it (a nested function may run with the outer one)."""
        return [*self.calls, *(c for fn in self.functions for c in fn.all_calls())]


class _Module(_Scope):
    """A cell's top level: records facts as it goes."""

    def __init__(self, facts: CellFacts, modules: frozenset[str], code: str) -> None:
        super().__init__(facts, modules)
        self.lines = code.splitlines()
        self.liftable: set[int] = set()  # ids of def/class statements that can be lifted out whole

    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:
            self.liftable.add(id(stmt))
            if isinstance(stmt, ast.With) and _is_run_block(stmt):  # a `%%mlops run` cell's body
                self.liftable.update(map(id, stmt.body))
        for stmt in node.body:
            self.visit(stmt)
        facts = self.facts
        facts.uses = list(self.free)
        facts.defs = set(self.bound) | facts.defs
        facts.mutated = self.mutated - set(facts.imports)
        facts.aliases = {n: o for n, o in self.aliases.items() if n in self.bound}
        facts.calls = self.calls

    def deleted(self, name: str) -> None:
        super().deleted(name)
        self.facts.deleted.add(name)

    def constant(self, name: str, scalar: bool) -> None:
        (self.facts.constants.add if scalar else self.facts.constants.discard)(name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        super().visit_ClassDef(node)
        self.facts.classes.add(node.name)

    def imported(self, name: str, statement: str) -> None:
        self.facts.imports[name] = statement

    def defined_function(self, name: str, scope: _Function, node: ast.AST) -> None:
        source = None
        if id(node) in self.liftable:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])  # type: ignore[attr-defined]
            source = textwrap.dedent("\n".join(self.lines[start - 1:node.end_lineno])) + "\n"  # type: ignore[attr-defined]
        self.facts.functions[name] = Function(
            name, set(scope.reads()), scope.writes(), defined_with=_definition_reads(node), source=source,
            line=node.lineno, params=scope.params, positional=scope.positional,  # type: ignore[attr-defined]
            mutated_params=scope.mutated & set(scope.params), calls=scope.all_calls())


def _is_run_block(stmt: ast.With) -> bool:
    return any(_dotted(item.context_expr.func) == "_mlnb_export.run" for item in stmt.items
               if isinstance(item.context_expr, ast.Call))


def _definition_reads(node: ast.AST) -> set[str]:
    """Names a ``def``/``class`` statement reads when it runs: decorators, defaults, annotations, bases."""
    exprs: list[ast.AST] = list(node.decorator_list)  # type: ignore[attr-defined]
    if isinstance(node, ast.ClassDef):
        exprs += [*node.bases, *(k.value for k in node.keywords)]
    else:
        args = node.args  # type: ignore[attr-defined]
        exprs += [*args.defaults, *(d for d in args.kw_defaults if d is not None), *_annotations(args, node.returns)]  # type: ignore[attr-defined]
    return {n.id for e in exprs for n in ast.walk(e) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _fresh(function: str) -> bool:
    return function in FRESH_FUNCTIONS or function.endswith(("_score", "_error", "_matrix", "_report"))


_SCALAR_FUNCTIONS = frozenset("len int float str bool round abs repr format hash id ord chr isinstance".split())


def _is_scalar(node: ast.AST) -> bool:
    """A value that can never change in place: numbers, strings, their arithmetic, ``len(...)`` ..."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp):
        return _is_scalar(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_scalar(node.left) and _is_scalar(node.right)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Tuple):
        return all(map(_is_scalar, node.elts))
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SCALAR_FUNCTIONS


def _comprehension_names(node: ast.AST) -> set[str]:
    return {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}  # type: ignore[attr-defined]


def imported_names(tree: ast.AST) -> set[str]:
    """Names a cell binds by ``import`` (a quick first pass over statements only, so that no cell
    treats a module as data)."""
    names: set[str] = set()
    stack = list(getattr(tree, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*")
        for key in ("body", "orelse", "finalbody", "handlers", "cases"):
            stack.extend(getattr(node, key, ()))
    return names


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
