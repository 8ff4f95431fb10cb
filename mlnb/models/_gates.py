"""Promotion gates, parsed by hand (never ``eval``) before anything runs.

    auc >= 0.9                               a metric of the candidate, absolute
    auc >= champion.auc - 0.005              against the current holder of an alias
    roc_auc >= champion.roc_auc on holdout@2 metrics of the stored evaluations on holdout@2
    schema                                   the holdout data is valid against the training signature
    drift.share < 0.3                        holdout drift against the training profile kept with the version
    not worse than champion on holdout@2     paired regression test on the same rows (by 0.01 by default)
    not worse than champion on holdout@2 by 0.02

Every parse error names the column where the gate goes wrong.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError, shown
from ..runs._filter import check_length

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_])
      | (?P<quoted>`[^`]*`)
      | (?P<cmp><=|>=|==|!=|<|>|=)
      | (?P<arith>[-+*/])
      | (?P<lpar>\()
      | (?P<rpar>\))
      | (?P<dot>\.)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
            "==": operator.eq, "!=": operator.ne}
_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
#: a metric gate's trailing ``on DATA``: read the metrics of the evaluations on that data version
_ON_DATA = re.compile(r"^(?P<expr>.*\S)\s+on\s+(?P<data>\S+)\s*$", re.IGNORECASE | re.DOTALL)
_REGRESSION = re.compile(r"^\s*not\s+worse\s+than\s+(?P<alias>\S+)\s+on\s+(?P<data>\S+)"
                         r"(?:\s+by\s+(?P<margin>\S+))?\s*$", re.IGNORECASE)
#: default margin of the regression test: accuracy points for labels (see _stats)
DEFAULT_MARGIN = 0.01


@dataclass(frozen=True)
class Name:
    """``auc`` (owner None: the candidate), ``champion.auc`` or ``drift.share``."""

    owner: str | None
    key: str
    pos: int

    @property
    def text(self) -> str:
        return f"{self.owner}.{self.key}" if self.owner else self.key


@dataclass(frozen=True)
class Gate:
    """One parsed gate: ``kind`` is metric, schema, drift or regression."""

    text: str
    kind: str
    expr: Any = None  # metric / drift: (left, op, right) trees of numbers, Names and (op, a, b)
    alias: str | None = None  # regression: the alias to compare with
    data: str | None = None  # regression: the holdout; metric: the evaluations' data (``on DATA``)
    margin: float | None = None

    def names(self) -> list[Name]:
        found: list[Name] = []

        def walk(node: Any) -> None:
            if isinstance(node, Name):
                found.append(node)
            elif isinstance(node, tuple):
                for part in node[1:]:
                    walk(part)

        if self.expr is not None:
            walk(self.expr[0])
            walk(self.expr[2])
        return found


def parse(text: Any) -> Gate:
    """Parse one gate; raises :class:`UsageError` naming the column of the first problem."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"invalid gate {text!r}: give an expression such as 'auc >= 0.9', 'schema', "
                         "'drift.share < 0.3' or 'not worse than champion on holdout@2'")
    check_length(text, "gate")
    stripped = text.strip()
    if stripped.lower() == "schema":
        return Gate(stripped, "schema")
    if stripped.lower().startswith("not "):
        found = _REGRESSION.match(stripped)
        if not found:
            raise UsageError(f"invalid gate {shown(text)}: write 'not worse than ALIAS on DATA' "
                             "(optionally '... by MARGIN')")
        margin = found["margin"]
        try:
            value = float(margin) if margin is not None else None
        except ValueError:
            raise UsageError(f"invalid gate {shown(text)} at column {found.start('margin') + 1}: "
                             f"the margin {margin!r} is not a number") from None
        if value is not None and value < 0:
            raise UsageError(f"invalid gate {shown(text)}: the margin must be 0 or more")
        return Gate(stripped, "regression", alias=found["alias"], data=found["data"], margin=value)
    on = _ON_DATA.match(text)
    expr = _Parser(on["expr"] if on else text, text).comparison()
    kind = "drift" if any(n.owner == "drift" for n in Gate(text, "metric", expr).names()) else "metric"
    if on and kind == "drift":
        raise UsageError(f"invalid gate {shown(text)} at column {on.start('data') + 1}: a drift gate reads the "
                         "holdout given as --data, not 'on DATA'")
    return Gate(stripped, kind, expr, data=on["data"] if on else None)


class _Parser:
    def __init__(self, text: str, shown_as: str | None = None) -> None:
        self.text, self.shown_as = text, shown_as or text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.fail(pos, f"unexpected character {text[pos]!r}")
            if m.lastgroup != "ws":
                self.tokens.append((m.lastgroup or "", m.group(), pos))
            pos = m.end()
        self.tokens.append(("end", "", len(text)))
        self.i = 0

    def fail(self, pos: int, what: str) -> UsageError:
        return UsageError(f"invalid gate {shown(self.shown_as)} at column {pos + 1}: {what}")

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    @property
    def kind(self) -> str:
        return self.tokens[self.i][0]

    def describe(self) -> str:
        kind, text, _ = self.tokens[self.i]
        return "the end of the gate" if kind == "end" else repr(text)

    def comparison(self) -> tuple[Any, str, Any]:
        left = self.sum()
        if self.kind != "cmp":
            raise self.fail(self.tokens[self.i][2], f"expected a comparison (< <= > >= = !=), got {self.describe()}")
        op = self.take()[1]
        right = self.sum()
        if self.kind != "end":
            raise self.fail(self.tokens[self.i][2], f"expected the end of the gate, got {self.describe()}")
        return left, op, right

    def sum(self) -> Any:
        node = self.product()
        while self.kind == "arith" and self.tokens[self.i][1] in "+-":
            node = (self.take()[1], node, self.product())
        return node

    def product(self) -> Any:
        node = self.unary()
        while self.kind == "arith" and self.tokens[self.i][1] in "*/":
            node = (self.take()[1], node, self.unary())
        return node

    def unary(self) -> Any:
        if self.kind == "arith" and self.tokens[self.i][1] == "-":
            self.take()
            return ("-", 0.0, self.unary())
        return self.atom()

    def atom(self) -> Any:
        kind, text, pos = self.take()
        if kind == "num":
            return float(text)
        if kind == "lpar":
            node = self.sum()
            if self.kind != "rpar":
                raise self.fail(self.tokens[self.i][2], f"expected ')' to close the '(' at column {pos + 1}, "
                                                        f"got {self.describe()}")
            self.take()
            return node
        if kind in ("ident", "quoted"):
            first = text.strip("`")
            if self.kind != "dot":
                return Name(None, first, pos)
            self.take()
            key_kind, key, key_pos = self.take()
            if key_kind not in ("ident", "quoted"):
                raise self.fail(key_pos, f"expected a metric name after '{first}.', got "
                                         f"{'the end of the gate' if key_kind == 'end' else repr(key)}")
            return Name(first, key.strip("`"), pos)
        what = "the end of the gate" if kind == "end" else repr(text)
        raise self.fail(pos, f"expected a number, a metric (auc, champion.auc) or '(', got {what}")


def value_of(node: Any, lookup: Any) -> float:
    """The number a parsed expression stands for; ``lookup(Name)`` gives each name's value."""
    if isinstance(node, float):
        return node
    if isinstance(node, Name):
        return float(lookup(node))
    op, a, b = node
    try:
        return _ARITH[op](value_of(a, lookup), value_of(b, lookup))
    except ZeroDivisionError:
        return float("nan")


def holds(expr: tuple[Any, str, Any], lookup: Any) -> tuple[bool, float, float]:
    """Whether the comparison holds, with both sides' values."""
    left, op, right = expr
    a, b = value_of(left, lookup), value_of(right, lookup)
    return bool(_COMPARE[op](a, b)), a, b
