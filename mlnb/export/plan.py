"""From analysed cells to a pipeline plan: stages, what crosses between them, files, parameters.

Walking the cells in notebook order, the *provider* of a name is the segment (setup, the
parameters cell, or a stage) that last defined or mutated it. A stage that uses a name provided
by another stage reads it from a file the provider writes (``vars/<provider>/<name>``); a name
provided by setup makes the stage copy the setup cells that build it; a parameter is read from
``params.yaml``.
"""

from __future__ import annotations

import ast
import builtins
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .cells import NOTEBOOK_BUILTINS, Cell, Notebook, check_stage_name
from . import _paths
from .defuse import Call, CellFacts, Function, analyze, imported_names

SETUP, PARAMS = "(setup)", "(parameters)"
_BUILTINS = frozenset(dir(builtins)) | NOTEBOOK_BUILTINS | {"_mlnb_export", "__name__", "__file__"}


@dataclass
class Stage:
    name: str
    cells: list[Cell] = field(default_factory=list)
    setup: list[Cell] = field(default_factory=list)  # setup cells copied in, notebook order
    params: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # name → producing stage
    outputs: list[str] = field(default_factory=list)  # names later stages read
    imports: dict[str, str] = field(default_factory=dict)  # import statements re-emitted
    deps: list[str] = field(default_factory=list)  # files read (paths relative to the notebook)
    outs: list[str] = field(default_factory=list)  # files written
    metrics: bool = False  # calls mlnb.log_metric
    warnings: list[str] = field(default_factory=list)  # writes whose path is not known before the run
    #: definitions from other stages' cells copied in: consumer cell number (0: before the values it
    #: reads, which may be instances of those classes) → (defining cell, definition)
    moved: dict[int, list[tuple[Cell, Function]]] = field(default_factory=dict)

    @property
    def script(self) -> str:
        return re.sub(r"[^A-Za-z0-9_]", "_", self.name) + ".py"


@dataclass
class Plan:
    notebook: Path
    stages: list[Stage]
    params: dict[str, Any]


def _error(cell: Cell, message: str) -> UsageError:
    return UsageError(f"{cell.where}: {message}")


def build_plan(nb: Notebook, dataset_path: Any = None) -> Plan:
    """Plan the pipeline of a read notebook; raises :class:`UsageError` naming the cell and the name.

    ``dataset_path(ref)`` maps an ``mlnb.data.load`` reference to its file (relative to the notebook).
    """
    cells = _assign_default_stage(nb)
    if not any(c.code.strip() for c in cells):
        raise UsageError(f"{nb.path.name} has no code to export: "
                         "add cells (and %%mlops stage markers) first")
    trees = {c.number: ast.parse(c.code) for c in cells}
    modules = frozenset().union(*map(imported_names, trees.values()))
    facts = {c.number: analyze(c.code, modules, trees[c.number]) for c in cells}
    for cell in cells:
        f = facts[cell.number]
        if f.star_import:
            raise _error(cell, f"`from {f.star_import} import *` hides which names the cell defines: "
                               "import the names you use")
        if (f.saves_dataset or f.project_commands) and cell.stage and not cell.parameters:
            raise _error(cell, "mlnb.data.save/add and %mlops commands cannot run inside `dvc repro` (DVC is "
                               "busy running the pipeline): write files with e.g. df.to_parquet(PATH) (the stage "
                               "lists them as outputs) and version them afterwards, or move this to the setup cells")
    imported = {n for f in facts.values() for n in f.imports}
    definitions = [(fn, cell) for cell in cells for fn in facts[cell.number].functions.values()]
    params = _parameters(cells)
    stages: dict[str, Stage] = {}
    walker = _Walker(cells, facts, imported, stages, params)
    walker.walk()
    _check_functions(cells, facts, definitions, imported)
    found = _paths.scan(cells, params, nb.path)  # paths held in variables, folded in notebook order
    for stage in stages.values():
        _files(stage, facts, dataset_path, found)
    _check_files(list(stages.values()))
    _check_cycles(list(stages.values()))
    return Plan(notebook=nb.path, stages=list(stages.values()), params=params)


def _assign_default_stage(nb: Notebook) -> list[Cell]:
    if nb.marked:
        return nb.cells
    name = re.sub(r"[^A-Za-z0-9_-]", "_", nb.path.stem).strip("_-") or "notebook"
    name = name if name[0].isalpha() else f"nb_{name}"
    name = check_stage_name(name[:64].rstrip("_-"))  # a stage name has at most 64 characters
    return [replace(c, stage=None if c.parameters else name) for c in nb.cells]


def _parameters(cells: list[Cell]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for cell in (c for c in cells if c.parameters):
        for stmt in ast.parse(cell.code).body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                raise _error(cell, f"the parameters cell may only hold `name = value` lines, not {ast.unparse(stmt)!r}")
            name = stmt.targets[0].id
            try:
                value = ast.literal_eval(stmt.value)
            except ValueError:
                raise _error(cell, f"parameter {name} = {ast.get_source_segment(cell.code, stmt.value)} is not a literal: "
                                   "give a number, string, bool, list or dict") from None
            params[name] = list(value) if isinstance(value, tuple) else value
    return params


class _Walker:
    """One pass over the cells, resolving every use to its provider."""

    def __init__(self, cells: list[Cell], facts: dict[int, CellFacts], imported: set[str],
                 stages: dict[str, Stage], params: dict[str, Any]) -> None:
        self.cells = cells
        self.facts = facts
        self.imported = imported  # every name some cell binds by import
        self.stages = stages  # filled in notebook order
        self.current: dict[str, _Definition] = {}  # name → the def/class it holds now
        self.aliases: dict[str, set[str]] = {}  # name → names its value may share state with
        #: names holding a number, string ... (never changed in place): scalar parameters, constants
        self.scalars = {n for n, v in params.items() if isinstance(v, (int, float, str, bool, type(None)))}
        self.params = params
        self.provider: dict[str, str] = {}  # name → segment that last changed it
        self.setup_cell: dict[str, Cell] = {}  # name → setup cell that last changed it
        self.setup_needs: dict[int, set[int]] = {}  # setup cell → setup cells it needs
        self.changed_by: dict[str, list[Cell]] = {}
        self.changes: dict[int, set[str]] = {}  # cell → names it changes (imports are never mutated)
        self.deleted_in: dict[str, Cell] = {}

    def walk(self) -> None:
        for cell in self.cells:
            segment = PARAMS if cell.parameters else (cell.stage or SETUP)
            f = self.facts[cell.number]
            uses, writes, in_place = self.expanded(f)
            if segment != PARAMS:  # `Ridge(alpha=alpha).fit(...)` cannot change the number `alpha`
                f.mutated -= self.scalars
                in_place -= self.scalars
            writes |= in_place | (self.alias_changes(f.mutated | writes | in_place) - self.scalars)
            if segment == PARAMS:
                pass
            elif segment == SETUP:
                self.setup_needs[cell.number] = self.resolve_setup(cell, uses)
            else:
                stage = self.stages.setdefault(cell.stage, Stage(cell.stage))  # type: ignore[arg-type]
                stage.cells.append(cell)
                self.resolve_stage(stage, cell, uses)
            changes = (f.changes | writes) - (self.imported - f.imports.keys())
            self.changes[cell.number] = changes
            for name in changes:
                self.provider[name] = segment
                self.changed_by.setdefault(name, []).append(cell)
                if segment == SETUP:
                    self.setup_cell[name] = cell
            for name in f.deleted:
                self.provider.pop(name, None)
                self.deleted_in[name] = cell
            self.track_definitions(cell, f, changes)
        for stage in self.stages.values():
            self.finish(stage)

    # -- definitions and aliases as the walk goes ---------------------------------------------
    def track_definitions(self, cell: Cell, f: CellFacts, changes: set[str]) -> None:
        """After a cell: which def/class each name holds, and what each name may share state with."""
        for fn in sorted(f.functions.values(), key=lambda fn: fn.line):  # a base class before its subclass
            if fn.name in changes:
                self.current[fn.name] = self.definition(cell, fn)
        for name in changes - f.functions.keys():
            if name in f.defs or name in f.deleted:
                self.current.pop(name, None)
            elif name in self.current and self.current[name].changed_in is None:
                self.current[name].changed_in = cell  # `f.cache = {}`: the def alone no longer rebuilds it
        self.scalars = (self.scalars - f.defs - f.deleted) | f.constants
        for name in f.defs | f.deleted:
            origins = set().union(*(self.aliases.get(o, {o}) | {o} for o in f.aliases.get(name, ())))
            origins -= self.imported | self.scalars | {name}
            if origins and name not in f.deleted:
                self.aliases[name] = origins
            else:
                self.aliases.pop(name, None)

    def definition(self, cell: Cell, fn: Function) -> _Definition:
        """A def/class just run, with what its definition line read: a stage's value pins it to its stage."""
        found = _Definition(fn, cell)
        for name in sorted(fn.defined_with - _BUILTINS):
            segment = self.provider.get(name)
            if name in self.imported:
                found.stamps[name] = ("import", name)
            elif name in self.current and name != fn.name:
                found.stamps[name] = ("def", id(self.current[name]))
            elif segment in (SETUP, PARAMS):
                found.stamps[name] = (segment, self.changed_by[name][-1].number)
            elif found.pin is None:
                found.pin = (name, segment)
        return found

    def stamp(self, name: str) -> tuple[str, object]:
        if name in self.imported:
            return ("import", name)
        if name in self.current:
            return ("def", id(self.current[name]))
        segment = self.provider.get(name)
        return (str(segment), self.changed_by[name][-1].number if name in self.changed_by else None)

    def alias_changes(self, mutated: set[str]) -> set[str]:
        """Names sharing state with a mutated name (bound in earlier cells) change with it."""
        found: set[str] = set()
        for name in mutated:
            found |= self.aliases.get(name, set())
            found |= {other for other, origins in self.aliases.items() if name in origins}
        return found - self.imported

    def versions(self, f: CellFacts, name: str) -> list[Function]:
        """The definitions ``name`` may hold while this cell runs: the one in effect, the cell's own."""
        found = [self.current[name].fn] if name in self.current else []
        if name in f.functions and name in f.loads:
            found.append(f.functions[name])
        return found

    def expanded(self, f: CellFacts) -> tuple[list[str], set[str], set[str]]:
        """A cell's uses plus what the functions it calls read; the globals they write; what they
        change in place through arguments."""
        uses, writes, in_place, seen = list(f.uses), set(), set(), set()
        stack = [fn for u in [*f.uses, *f.functions] for fn in self.versions(f, u)]
        calls = [(c, None) for c in f.calls]
        while stack:
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            writes |= fn.writes
            calls += [(c, fn) for c in fn.calls]
            for read in sorted(fn.reads):
                if read not in uses and read not in f.defs:
                    uses.append(read)
                stack += self.versions(f, read)
        for call, caller in calls:
            for callee in self.versions(f, call.name):
                changed = set().union(*_arguments_changed(call, callee, self.mutated_params(f, callee, set())))
                in_place |= changed if caller is None else changed & (caller.reads | caller.writes)
        return uses, writes, in_place

    def mutated_params(self, f: CellFacts, fn: Function, seen: set[int]) -> set[str]:
        """Parameters ``fn`` changes in place, itself or by passing them to a function that does."""
        found = set(fn.mutated_params)
        seen.add(id(fn))
        for call in fn.calls:
            for callee in self.versions(f, call.name):
                if id(callee) not in seen:
                    changed = _arguments_changed(call, callee, self.mutated_params(f, callee, seen))
                    found |= set().union(*changed) & set(fn.params)
        return found

    def where_defined_later(self, name: str, after: Cell) -> Cell | None:
        for cell in self.cells:
            if cell.number > after.number and name in self.facts[cell.number].changes:
                return cell
        return None

    def missing(self, cell: Cell, name: str) -> UsageError:
        if name in self.deleted_in:
            return _error(cell, f"`{name}` is used here but was deleted in {self.deleted_in[name].where}")
        later = self.where_defined_later(name, cell)
        if later is not None:
            return _error(cell, f"`{name}` is used here but defined only later, in {later.where}: "
                                "move its definition before this cell")
        return _error(cell, f"`{name}` is not defined anywhere in the notebook: define or import it")

    def resolve_setup(self, cell: Cell, uses: list[str]) -> set[int]:
        needs: set[int] = set()
        for name in uses:
            if name in _BUILTINS:
                continue
            segment = self.provider.get(name)
            if segment is None:
                if name in self.params:
                    continue
                raise self.missing(cell, name)
            if segment == SETUP:
                needs.add(self.setup_cell[name].number)
        return needs

    def resolve_stage(self, stage: Stage, cell: Cell, uses: list[str]) -> None:
        for name in uses:
            if name in _BUILTINS:
                continue
            segment = self.provider.get(name)
            if segment is None:
                raise self.missing(cell, name)
            if segment == stage.name:
                continue
            if segment == PARAMS:
                if name not in stage.params:
                    stage.params.append(name)
            elif segment == SETUP:
                stage.setup.append(self.setup_cell[name])
            elif name in self.imported:
                origin = self.changed_by[name][-1]
                stage.imports[name] = self.facts[origin.number].imports[name]
            elif name in self.current:  # a def/class: copied (a stage never writes functions to files)
                self.move(stage, cell, self.current[name])
            else:
                first = not stage.inputs
                if name not in stage.inputs:
                    stage.inputs[name] = segment
                producer = self.stages[segment]
                if name not in producer.outputs:
                    producer.outputs.append(name)
                if first:  # values read from files may be instances of classes from other stages
                    self.move_classes(stage, cell)

    def move(self, stage: Stage, cell: Cell, found: _Definition, top: bool = False) -> None:
        """Copy a def/class from another stage's cell into ``stage``, just before ``cell`` needs it."""
        fn = found.fn
        for key, moved in list(stage.moved.items()):
            if any(fn is f for _, f in moved):
                if not top or key == 0:
                    return
                moved.remove((found.cell, fn))  # needed before the values are read: move it up
        defined = f"`{fn.name}` is defined in {found.cell.where}"
        if fn.source is None:
            raise _error(cell, f"{defined} inside a block: define it at the top level of a cell so that "
                               f"stage {stage.name!r} gets a copy")
        if found.changed_in is not None:
            raise _error(cell, f"{defined} and changed in {found.changed_in.where}, so a copy of its definition "
                               f"in stage {stage.name!r} would differ: make that change inside the definition")
        pinned = (found.pin[0], f"which stage {found.pin[1]!r} computes") if found.pin else None
        for name, stamp in found.stamps.items():
            if pinned is None and self.stamp(name) != stamp:
                changer = self.changed_by[name][-1] if name in self.changed_by else cell
                pinned = (name, f"which {changer.where} changes after the definition")
        if pinned is not None:
            name, why = pinned
            raise _error(cell, f"{defined} with a definition line (decorators, defaults, bases) that reads "
                               f"`{name}`, {why}, so stage {stage.name!r} cannot get a copy: read `{name}` "
                               f"inside the body instead, or define `{fn.name}` in stage {stage.name!r}")
        stage.moved.setdefault(0 if top else cell.number, []).append((found.cell, fn))
        for name in sorted(fn.defined_with):  # a base class or decorator from another stage comes along
            if name in self.current and self.current[name].cell.stage not in (None, stage.name):
                self.move(stage, cell, self.current[name], top)
            else:
                self.resolve_stage(stage, cell, [name])

    def move_classes(self, stage: Stage, cell: Cell) -> None:
        """Give ``stage``, before it reads values, the classes other stages defined (those that can move)."""
        for found in sorted(self.current.values(), key=lambda d: (d.cell.number, d.fn.line)):
            if (found.fn.name in self.facts[found.cell.number].classes and found.cell.stage not in (None, stage.name)
                    and found.fn.source is not None and found.changed_in is None and found.pin is None
                    and all(self.stamp(n) == s for n, s in found.stamps.items())):
                self.move(stage, cell, found, top=True)
                # its methods run whenever the value is used: what they read must be there too
                self.resolve_stage(stage, cell, self.expanded(CellFacts(uses=[found.fn.name]))[0][1:])

    def finish(self, stage: Stage) -> None:
        """Close the copied setup cells over what they need; add side-effect-only setup cells."""
        wanted = {c.number for c in stage.setup}
        if stage.inputs:  # values read from files may be instances of the notebook's own classes
            wanted |= {c.number for c in self.cells if c.stage is None and self.facts[c.number].classes}
        wanted |= {c.number for c in self.cells if c.stage is None and not c.parameters
                   and not self.changes[c.number] and not self.facts[c.number].trivial
                   and not _notebook_only(self.facts[c.number])}
        stack = list(wanted)
        while stack:
            for need in self.setup_needs.get(stack.pop(), ()):
                if need not in wanted:
                    wanted.add(need)
                    stack.append(need)
        stage.setup = [c for c in self.cells if c.number in wanted]
        for cell in stage.setup:
            if _notebook_only(self.facts[cell.number]):
                raise _error(cell, f"stage {stage.name!r} needs names this cell defines, but the cell records data "
                                   "or runs %mlops commands, which only the notebook does: split those lines "
                                   "into a cell of their own")
        for cell in stage.setup:  # parameters read by copied setup cells
            for name in self.facts[cell.number].uses:
                if name in self.params and self.provider.get(name) != SETUP and name not in stage.params:
                    stage.params.append(name)
        stage.params.sort()
        stage.outputs.sort()
        stage.metrics = any("log_metric" in c.code for c in [*stage.setup, *stage.cells])


@dataclass(eq=False)
class _Definition:
    """A def/class statement as run in the notebook: where, and what its definition line read."""

    fn: Function
    cell: Cell
    stamps: dict[str, tuple[str, object]] = field(default_factory=dict)  # name → what it was when read
    pin: tuple[str, str | None] | None = None  # (name, stage) a stage's value the definition line read
    changed_in: Cell | None = None  # a later cell changing the defined object (`f.attr = ...`)


def _arguments_changed(call: Call, callee: Function, params: set[str]) -> list[set[str]]:
    """What the arguments of ``call`` bound to the changed ``params`` of ``callee`` share state with."""
    found = [args for param, args in zip(callee.positional, call.args) if param in params]
    return found + [args for key, args in call.keywords.items() if key in params]


def _notebook_only(f: CellFacts) -> bool:
    """Setup cells that record data or run project commands belong to the notebook, not the pipeline."""
    return f.saves_dataset or f.project_commands


def _check_functions(cells: list[Cell], facts: dict[int, CellFacts], definitions: list[tuple[Function, Cell]],
                     imported: set[str]) -> None:
    """A function reading a global that changes in more than one segment behaves differently per stage."""
    segments: dict[str, list[Cell]] = {}
    for cell in cells:
        for name in facts[cell.number].changes - imported:
            if name not in facts[cell.number].functions:
                segments.setdefault(name, []).append(cell)
    names = {fn.name for fn, _ in definitions}
    for fn, fn_cell in definitions:
        name = fn.name
        for read in sorted(fn.reads - imported - names):
            changers = segments.get(read, [])
            kinds = {PARAMS if c.parameters else (c.stage or SETUP) for c in changers}
            if len(kinds) > 1 and kinds - {SETUP, PARAMS}:
                places = ", ".join(c.where for c in changers)
                raise _error(fn_cell, f"function `{name}` reads the global `{read}`, which changes between "
                                      f"stages ({places}): pass `{read}` to `{name}` as an argument")


def _normal(path: str) -> str | None:
    """A path relative to the notebook, or None when it is absolute or leaves the folder tree."""
    if not path or "://" in path or Path(path).is_absolute():
        return None
    norm = posixpath.normpath(path.replace("\\", "/"))
    return norm


def _files(stage: Stage, facts: dict[int, CellFacts], dataset_path: Any,
           found: dict[int, _paths.CellPaths] | None = None) -> None:
    reads, writes, stage.warnings = _paths.stage_files([*stage.setup, *stage.cells], found or {}, _normal)
    for cell in [*stage.setup, *stage.cells]:
        f = facts[cell.number]
        reads += [*f.reads_files, *cell.deps]
        writes += [*f.writes_files, *cell.outs]
        for ref in f.datasets:
            if dataset_path is None:
                raise _error(cell, f"mlnb.data.load({ref!r}) needs the project's registry: export inside the project")
            reads.append(dataset_path(ref))
    outs = _paths.without_nested([p for p in map(_normal, writes) if p])
    stage.outs = outs
    stage.deps = sorted({p for p in map(_normal, reads) if p} - set(outs))


def _check_files(stages: list[Stage]) -> None:
    owner: dict[str, str] = {}
    for stage in stages:
        for path in stage.outs:
            if path in owner:
                raise UsageError(f"stages {owner[path]!r} and {stage.name!r} both write {path}: "
                                 "one stage must own each output file")
            owner[path] = stage.name


def edges(stages: list[Stage]) -> dict[str, dict[str, list[str]]]:
    """consumer → producer → the names and files that make the edge."""
    owner = {path: s.name for s in stages for path in s.outs}
    found: dict[str, dict[str, list[str]]] = {}
    for stage in stages:
        for name, producer in stage.inputs.items():
            found.setdefault(stage.name, {}).setdefault(producer, []).append(f"`{name}`")
        for path in stage.deps:
            if path in owner and owner[path] != stage.name:
                found.setdefault(stage.name, {}).setdefault(owner[path], []).append(path)
    return found


def _check_cycles(stages: list[Stage]) -> None:
    graph = edges(stages)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for producer in sorted(graph.get(node, {})):
            if state.get(producer) == 1:
                cycle = path[path.index(producer):] + [producer]
                links = "; ".join(
                    f"{a!r} needs {', '.join(graph[a][b])} from {b!r}" for a, b in zip(cycle, cycle[1:])
                )
                raise UsageError(f"the stages form a cycle ({links}): "
                                 "give each stage its own name or move the cells so data flows one way")
            if state.get(producer) is None:
                visit(producer)
        path.pop()
        state[node] = 2

    for stage in stages:
        if stage.name not in state:
            visit(stage.name)
