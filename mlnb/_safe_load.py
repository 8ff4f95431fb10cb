"""Loading a ``.skops`` file without running code from it: the one rule every mlnb loader uses.

skops never unpickles, but it rebuilds objects *by name*: a file says "module ``m``, name ``n``"
and skops imports ``m.n`` and, for several node kinds, calls it with arguments from the file. So
whatever name is trusted can be called by a crafted file: trusting ``builtins.*`` lets a file call
``builtins.exec("...")``; trusting ``numpy.*`` lets it call ``numpy.load(..., allow_pickle=True)``.

The rule here:

- skops' own defaults stay trusted (scikit-learn's public estimators, numpy arrays, dtypes and
  ufuncs, plain containers): skops reviews those and rebuilds them without calling file-chosen code;
- on top of them, only the exact names in :data:`TRUSTED_TYPES`: classes that hold data and whose
  construction runs nothing else, never a function, a method or a whole module;
- classes the running script defines itself (``__main__.Name`` whose class says it was defined in
  ``__main__``: the notebook's own setup cells, copied into the stage script), never a name the
  script merely imported into ``__main__``;
- anything else only when the caller names it exactly (``trust=``), and never a name from a module
  whose members run code (:data:`NEVER_TRUSTED_MODULES`), however it is asked.

skops checks types, not contents: a loaded scikit-learn ``Tree`` and scipy sparse matrix are also
checked for indices that point outside them (their code follows them without bounds checks).

Nothing is imported to decide: the decision is made from the names alone, before skops builds
anything, so a refused file has run no code at all.

>>> load_skops("vars/train/model/object.skops")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import MlnbError, UsageError

#: Exact names trusted beyond skops' defaults: data-holding classes that fitted models and
#: ordinary Python values need. No functions, no prefixes.
TRUSTED_TYPES = frozenset({
    # values
    "builtins.frozenset", "builtins.range",
    "collections.Counter", "collections.OrderedDict",  # not deque: skops loads it empty
    "datetime.date", "datetime.datetime", "datetime.time", "datetime.timedelta",
    "decimal.Decimal", "fractions.Fraction",
    "numpy.dtype",
    "sklearn.utils._bunch.Bunch",  # what load_iris() and friends return: a dict with attribute access
    # sparse matrices (e.g. a fitted vectorizer's output kept for the next stage)
    "scipy.sparse._csr.csr_matrix", "scipy.sparse._csc.csc_matrix", "scipy.sparse._coo.coo_matrix",
    "scipy.sparse._csr.csr_array", "scipy.sparse._csc.csc_array", "scipy.sparse._coo.coo_array",
    # what fitted scikit-learn objects hold besides public estimators
    "sklearn.tree._tree.Tree",  # decision trees, forests, gradient boosting: contents checked below
    "sklearn.metrics._scorer._PassthroughScorer", "sklearn.metrics._scorer._Scorer",
    "sklearn.metrics._scorer._MultimetricScorer",
    *(f"sklearn.model_selection._split.{name}" for name in (
        "KFold", "StratifiedKFold", "GroupKFold", "StratifiedGroupKFold", "RepeatedKFold",
        "RepeatedStratifiedKFold", "ShuffleSplit", "StratifiedShuffleSplit", "GroupShuffleSplit",
        "TimeSeriesSplit", "LeaveOneOut", "PredefinedSplit", "_CVIterableWrapper")),
})

#: Modules whose members run code, spawn processes, touch files or rebind objects: no name from
#: them is ever trusted, not even when a caller asks.
NEVER_TRUSTED_MODULES = frozenset({
    "builtins", "os", "posix", "nt", "sys", "subprocess", "importlib", "runpy", "code", "codeop",
    "operator", "functools", "pickle", "marshal", "shelve", "ctypes", "shutil", "socket", "pty",
    "webbrowser", "types", "inspect", "io", "pathlib", "tempfile", "multiprocessing", "threading",
    "asyncio", "signal", "gc", "weakref", "numpy.lib.npyio", "numpy.testing", "numpy.f2py",
    "numpy.distutils", "joblib",
})


def _module_of(name: str) -> str:
    return name.rpartition(".")[0]


def _never(name: str) -> bool:
    module = _module_of(name)
    if name in TRUSTED_TYPES:
        return False
    return any(module == m or module.startswith(m + ".") for m in NEVER_TRUSTED_MODULES)


def _own_class(name: str) -> bool:
    """``__main__.Name`` is a class the running script itself defines (not one it imported)."""
    module, _, attr = name.partition(".")
    main = sys.modules.get("__main__")
    found = getattr(main, attr, None) if module == "__main__" and "." not in attr else None
    return isinstance(found, type) and found.__module__ == "__main__" and found.__qualname__ == attr


def check_trust(trust: Iterable[str]) -> frozenset[str]:
    """The exact names a caller asks to trust; raises :class:`UsageError` for one that can never be."""
    names = frozenset(t.strip() for t in trust if t.strip())
    for name in sorted(names):
        if "." not in name or "*" in name or name.endswith("."):
            raise UsageError(f"cannot trust {name!r}: name one type exactly, as module.Class "
                             "(the name the refusal message gave)")
        if _never(name):
            raise UsageError(f"cannot trust {name}: names from {_module_of(name)} can run code; "
                             "save the value in another form (a frame, an array, plain values)")
    return names


@functools.lru_cache(maxsize=1)
def _score_functions() -> frozenset[str]:
    """The metric functions behind scikit-learn's named scorers (``scoring="f1"`` keeps ``f1_score``):
    pure computations, listed by scikit-learn itself."""
    from sklearn.metrics import get_scorer, get_scorer_names

    found = set()
    for scorer in map(get_scorer, get_scorer_names()):
        fn = getattr(scorer, "_score_func", None)
        if fn is not None and getattr(fn, "__module__", "").startswith("sklearn.metrics"):
            found.add(f"{fn.__module__}.{fn.__name__}")
    return frozenset(found)


def _names(path: str | Path) -> list[str]:
    """Every name in the file that skops does not trust by default; builds nothing."""
    with _opened(path) as tree:
        return sorted(tree.get_unsafe_set())


@contextlib.contextmanager
def _opened(path: str | Path) -> Iterator[Any]:
    """skops' tree of the file (names read, arrays read, nothing built), open while in use.

    What ``skops.io.load`` does in one pass, split where mlnb decides: the file is read once for
    both the names and the load (a second pass would read every array of a large model again)."""
    from zipfile import ZipFile

    from skops.io._audit import get_tree
    from skops.io._utils import read_schema

    try:
        zf = ZipFile(path, "r")
    except Exception as exc:
        raise _unreadable(path, exc) from None
    with zf:
        try:
            schema, context = read_schema(zf)
            tree = get_tree(schema, context, trusted=None)
        except Exception as exc:
            raise _unreadable(path, exc) from None
        yield tree


def _unreadable(path: str | Path, exc: Exception) -> MlnbError:
    """A crafted or damaged file fails in many ways; none of them ran code."""
    reason = " ".join(str(exc).split())[:200]
    return MlnbError(f"{path} is not a readable skops file ({type(exc).__name__}: {reason}); "
                     "nothing was loaded: write it again")


def _construct(tree: Any, names: list[str]) -> Any:
    """Build the objects, after skops' own audit with exactly the names mlnb allowed."""
    from skops.io._audit import audit_tree

    audit_tree(tree, trusted=names)
    return tree.construct()


def untrusted(path: str | Path, trust: Iterable[str] = ()) -> list[str]:
    """The names in the skops file at ``path`` that :func:`load_skops` would refuse, sorted."""
    return _refused(_names(path), check_trust(trust))


def _refused(names: list[str], extra: frozenset[str]) -> list[str]:
    allowed = TRUSTED_TYPES | extra
    left = [n for n in names if n not in allowed and not _own_class(n)]
    if left:
        left = [n for n in left if n not in _score_functions()]
    return sorted(set(left))


def load_skops(path: str | Path, trust: Iterable[str] = (), hint: str = "") -> Any:
    """Load the skops file at ``path`` when every name in it is trusted (see the module's rule).

    Otherwise raise :class:`MlnbError` with one line naming the untrusted names, before anything
    in the file was built. ``trust`` adds exact names; ``hint`` says how the user can pass them.
    """
    extra = check_trust(trust)
    with _opened(path) as tree:
        names = sorted(tree.get_unsafe_set())
        refused = _refused(names, extra)
        if refused:
            how = hint or "pass them to trust= only if you trust the file's source"
            raise MlnbError(f"{path} holds types mlnb does not trust: {', '.join(refused)}; "
                            f"nothing was loaded: {how}")
        try:
            value = _construct(tree, names)
        except Exception as exc:  # only trusted names were built: a damaged file, or another version's
            reason = " ".join(str(exc).split())[:200]
            raise MlnbError(f"{path} could not be rebuilt ({type(exc).__name__}: {reason}): write it again "
                            "with this version of its libraries") from None
    for item, owner in _reachable(value):
        problem = _contents_problem(item, owner)
        if problem:
            raise MlnbError(f"{path} holds {problem}: the library would read outside it when using it; "
                            "refused: write the file again")
    return value


_TREE = "sklearn.tree._tree.Tree"


def _reachable(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every object reachable from ``value`` (through containers, object arrays and attributes),
    with the object whose attribute it is."""
    import numpy as np

    seen: set[int] = set()
    stack: list[tuple[Any, Any]] = [(value, None)]
    while stack:
        item, owner = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item, owner
        if isinstance(item, dict):
            stack += [(v, None) for v in item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack += [(v, None) for v in item]
        elif isinstance(item, np.ndarray):
            if item.dtype == object:
                stack += [(v, None) for v in item.ravel()]
        elif hasattr(item, "__dict__"):
            stack += [(v, item) for v in vars(item).values()]


def _contents_problem(item: Any, owner: Any) -> str:
    """What is wrong inside a loaded object whose library trusts its own indices ('' when nothing)."""
    kind = f"{type(item).__module__}.{type(item).__name__}"
    if kind == _TREE:
        problem = _tree_problem(item, owner)
        return f"a decision tree whose {problem}" if problem else ""
    if kind.startswith("scipy.sparse."):
        return _sparse_problem(item)
    return ""


def _sparse_problem(matrix: Any) -> str:
    import numpy as np

    try:
        if hasattr(matrix, "check_format"):  # CSR, CSC, BSR: index bounds, sorted index pointers
            matrix.check_format(full_check=True)
        elif hasattr(matrix, "coords"):  # COO
            for axis, coords in zip(matrix.shape, matrix.coords):
                if len(coords) and (np.min(coords) < 0 or np.max(coords) >= axis):
                    raise ValueError("coordinates outside its shape")
    except ValueError as exc:
        return f"a sparse matrix with bad indices ({' '.join(str(exc).split())[:120]})"
    return ""


def _tree_problem(tree: Any, owner: Any) -> str:
    """What is wrong with a loaded tree's structure ('' when nothing): scikit-learn follows child
    and feature indices without bounds checks, so a crafted file could make it read any memory."""
    import numpy as np

    n = tree.node_count
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    here = np.arange(n)
    leaf = left == -1
    if len(left) != n or len(right) != n or len(feature) != n or not np.array_equal(leaf, right == -1):
        return "nodes do not match its node count"
    inner = ~leaf  # children come after their parent: no index outside the tree, no loop
    if ((left[inner] <= here[inner]) | (left[inner] >= n) | (right[inner] <= here[inner]) | (right[inner] >= n)).any():
        return "child indices point outside it (or back up it)"
    width = getattr(owner, "n_features_in_", tree.n_features)
    if tree.n_features != width or ((feature[inner] < 0) | (feature[inner] >= width)).any():
        return "feature indices do not match its input width"
    return ""
