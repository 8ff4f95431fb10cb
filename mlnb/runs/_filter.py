"""The run filter language, parsed by hand (never ``eval``) and compiled to SQL.

    metrics.accuracy > 0.8 and params.lr < 0.5
    tags.churn and not status = 'failed'
    name ~ 'base' or (params.optimizer = 'adam' and metrics.loss <= 0.2)
    started_at >= '2026-01-31'

Fields: ``metrics.KEY``, ``params.KEY``, ``tags.TAG`` (true when the run has the tag), ``tags``,
``name``, ``status``, ``id``, ``notebook``, ``git_commit``, ``started_at``, ``ended_at``,
``duration``, ``experiment``, ``note``, ``lifecycle``. A ``metrics.KEY`` / ``params.KEY`` alone is true when the run has it. Keys with odd
characters go in backquotes: ``metrics.`val/loss```. Operators: ``= == != < <= > >=`` and ``~``
(contains, case-insensitive) / ``!~``; ``and``, ``or``, ``not``, parentheses. Every error names the
column where the expression goes wrong.

Limits (checked before anything recurses or reaches the database, each refused with one
``UsageError``): ``MAX_LENGTH`` characters, ``MAX_DEPTH`` levels of parentheses and ``not``,
``MAX_TERMS`` field tests.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, true
from sqlalchemy.sql import operators

from ..errors import UsageError, shown
from ..store._schema import run_latest, run_params, run_tags, runs

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_])
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<quoted>`[^`]*`)
      | (?P<op>==|!=|<=|>=|!~|=|<|>|~)
      | (?P<lpar>\()
      | (?P<rpar>\))
      | (?P<dot>\.)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_\-/]*)
    """,
    re.VERBOSE,
)

#: longest filter or sort expression, in characters
MAX_LENGTH = 10_000
#: deepest nesting of parentheses and ``not``
MAX_DEPTH = 32
#: most field tests (``metrics.a > 1``, ``tags.x`` ...) in one filter
MAX_TERMS = 100

_KEYWORDS = {"and", "or", "not", "true", "false", "null"}
RUN_FIELDS = {
    "name": runs.c.name, "status": runs.c.status, "id": runs.c.id, "notebook": runs.c.notebook,
    "git_commit": runs.c.git_commit, "started_at": runs.c.started_at, "ended_at": runs.c.ended_at,
    "experiment": runs.c.experiment, "note": runs.c.note, "lifecycle": runs.c.lifecycle,
}
TIME_FIELDS = {"started_at", "ended_at", "duration"}
_SQL_OPS = {"=": operators.eq, "==": operators.eq, "!=": operators.ne, "<": operators.lt,
            "<=": operators.le, ">": operators.gt, ">=": operators.ge}


def has(table: Any, *conditions: Any) -> ColumnElement[bool]:
    """EXISTS a row of ``table`` for the run with ``conditions``.

    A correlated EXISTS is a primary-key probe per candidate run, so a query walking an index in
    the sort order stops after the first page; ``id IN (subquery)`` would build the whole list.
    """
    return exists().where(table.c.run_id == runs.c.id, *conditions)


def duration_column() -> ColumnElement[Any]:
    """Seconds a run took (or has been running, up to its last heartbeat)."""
    return func.coalesce(runs.c.ended_at, runs.c.heartbeat_at, runs.c.started_at) - runs.c.started_at


@dataclass
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Field:
    """A parsed field reference: ``kind`` is metrics, params, tags, tag (one tag) or run."""

    kind: str
    key: str
    pos: int


class _Parser:
    def __init__(self, text: str, what: str = "filter") -> None:
        self.text = text
        self.what = what  # "filter", or "sort key" for --sort
        self.depth = self.terms = 0
        check_length(text, what)
        self.tokens = self._tokenize(text)
        self.i = 0

    # -- errors and tokens ---------------------------------------------------------------------

    def fail(self, pos: int, what: str) -> UsageError:
        return UsageError(f"invalid {self.what} {shown(self.text)} at column {pos + 1}: {what}")

    def nest(self, tok: Token) -> None:
        """Enter a '(' or a 'not': refuse past ``MAX_DEPTH`` before the parser recurses further."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(tok.pos, f"nested deeper than {MAX_DEPTH} levels of '(' and 'not': "
                                     "write it flatter (a and b and c needs no parentheses)")

    def _tokenize(self, text: str) -> list[Token]:
        out, pos = [], 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self.fail(pos, f"unexpected character {text[pos]!r}")
            kind = m.lastgroup or ""
            if kind != "ws":
                out.append(Token(kind, m.group(), pos))
            pos = m.end()
        out.append(Token("end", "", len(text)))
        return out

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text.lower() == word

    def describe(self, tok: Token) -> str:
        return "the end of the expression" if tok.kind == "end" else repr(tok.text)

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> ColumnElement[bool]:
        if self.tok.kind == "end":
            raise self.fail(0, "the expression is empty")
        clause = self.or_()
        if self.tok.kind != "end":
            raise self.fail(self.tok.pos, f"expected 'and', 'or' or the end, got {self.describe(self.tok)}")
        return clause

    def or_(self) -> ColumnElement[bool]:
        parts = [self.and_()]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def and_(self) -> ColumnElement[bool]:
        parts = [self.not_()]
        while self.is_word("and"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def not_(self) -> ColumnElement[bool]:
        if self.is_word("not"):
            self.nest(self.take())
            clause = not_(self.not_())
            self.depth -= 1
            return clause
        return self.atom()

    def atom(self) -> ColumnElement[bool]:
        if self.tok.kind == "lpar":
            open_tok = self.take()
            self.nest(open_tok)
            clause = self.or_()
            if self.tok.kind != "rpar":
                raise self.fail(self.tok.pos, f"expected ')' to close the '(' at column {open_tok.pos + 1}, "
                                              f"got {self.describe(self.tok)}")
            self.take()
            self.depth -= 1
            return clause
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(self.tok.pos, f"more than {MAX_TERMS} terms: split the question into several filters")
        field = self.field()
        if self.tok.kind != "op":
            return self.exists(field)
        op = self.take()
        value_tok = self.take()
        value = self.literal(value_tok, op)
        return self.compare(field, op, value, value_tok)

    def field(self) -> Field:
        tok = self.take()
        if tok.kind != "ident" or tok.text.lower() in _KEYWORDS:
            raise self.fail(tok.pos, f"expected a field such as metrics.NAME, params.NAME, tags.NAME, name or "
                                     f"status, got {self.describe(tok)}")
        head = tok.text
        if self.tok.kind != "dot":
            if head in RUN_FIELDS or head == "duration":
                return Field("run", head, tok.pos)
            if head in ("tags", "tag"):
                return Field("tags", "", tok.pos)
            raise self.fail(tok.pos, f"unknown field {head!r}: use metrics.NAME, params.NAME, tags.NAME, "
                                     f"{', '.join(sorted([*RUN_FIELDS, 'duration']))}")
        if head not in ("metrics", "params", "tags", "metric", "param", "tag"):
            raise self.fail(tok.pos, f"unknown field group {head!r}: use metrics., params. or tags.")
        self.take()  # the dot
        key_tok = self.take()
        if key_tok.kind == "quoted":
            key = key_tok.text[1:-1]
        elif key_tok.kind in ("ident", "num"):
            key = key_tok.text
            while self.tok.kind == "dot" and self.tokens[self.i + 1].kind in ("ident", "num"):  # metrics.val.loss
                self.take()
                key += "." + self.take().text
        else:
            raise self.fail(key_tok.pos, f"expected a name after '{head}.', got {self.describe(key_tok)}")
        if not key:
            raise self.fail(key_tok.pos, "empty name in backquotes")
        kind = {"metric": "metrics", "param": "params", "tags": "tag"}.get(head, head)
        return Field(kind, key, tok.pos)

    def literal(self, tok: Token, op: Token) -> Any:
        if tok.kind == "num":
            return float(tok.text)
        if tok.kind == "str":
            return re.sub(r"\\(.)", r"\1", tok.text[1:-1])
        if tok.kind == "ident" and tok.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        raise self.fail(tok.pos, f"expected a number or a 'quoted string' after {op.text!r}, got {self.describe(tok)}")

    # -- compilation ---------------------------------------------------------------------------

    def exists(self, field: Field) -> ColumnElement[bool]:
        if field.kind == "metrics":
            return has(run_latest, run_latest.c.key == field.key)
        if field.kind == "params":
            return has(run_params, run_params.c.key == field.key)
        if field.kind == "tag":
            return has(run_tags, run_tags.c.tag == field.key)
        raise self.fail(self.tok.pos, f"expected an operator (= != < <= > >= ~) after {self.field_text(field)!r}, "
                                      f"got {self.describe(self.tok)}")

    @staticmethod
    def field_text(field: Field) -> str:
        if field.kind == "run":
            return field.key
        group = "tags" if field.kind == "tag" else field.kind
        return f"{group}.{field.key}" if field.key else group

    def compare(self, field: Field, op: Token, value: Any, value_tok: Token) -> ColumnElement[bool]:
        name = self.field_text(field)
        if field.kind == "tag":
            raise self.fail(op.pos, f"{name} is true or false on its own: write '{name}' or 'not {name}'")
        if field.kind == "metrics":
            if not isinstance(value, float):
                raise self.fail(value_tok.pos, f"metrics are numbers: compare {name} with a number")
            if op.text in ("~", "!~"):
                raise self.fail(op.pos, f"'~' matches text; {name} is a number")
            cond = _SQL_OPS[op.text](run_latest.c.value, value)
            return has(run_latest, run_latest.c.key == field.key, cond)
        if field.kind == "params":
            if isinstance(value, float):
                if op.text in ("~", "!~"):
                    raise self.fail(value_tok.pos, "'~' needs a 'quoted string'")
                cond = _SQL_OPS[op.text](run_params.c.num, value)
            elif op.text in ("~", "!~"):
                cond = self.contains(run_params.c.value, str(value), op.text == "!~")
            elif op.text in ("=", "==", "!="):
                cond = _SQL_OPS[op.text](run_params.c.value, json.dumps(value))
            else:
                raise self.fail(op.pos, f"{op.text!r} compares numbers; compare {name} with a number, or use = or ~")
            return has(run_params, run_params.c.key == field.key, cond)
        if field.kind == "tags":
            if not isinstance(value, str) or op.text not in ("=", "==", "!=", "~", "!~"):
                raise self.fail(op.pos, "tags compare with = or ~ and a 'quoted string'")
            cond = (self.contains(run_tags.c.tag, value, False) if "~" in op.text else run_tags.c.tag == value)
            found = has(run_tags, cond)
            return not_(found) if op.text.startswith("!") else found
        column = duration_column() if field.key == "duration" else RUN_FIELDS[field.key]
        if field.key in TIME_FIELDS:
            if isinstance(value, str) and field.key != "duration":
                value = self.timestamp(value, value_tok)
            if not isinstance(value, float) or op.text in ("~", "!~"):
                raise self.fail(value_tok.pos, f"{name} compares with a number of seconds"
                                               + ("" if field.key == "duration" else " or a 'YYYY-MM-DD' date"))
            return _SQL_OPS[op.text](column, value)
        if value is None:
            return column.is_(None) if op.text in ("=", "==") else column.is_not(None)
        if isinstance(value, bool) or not isinstance(value, str):
            raise self.fail(value_tok.pos, f"{name} is text: compare it with a 'quoted string'")
        if op.text in ("~", "!~"):
            return self.contains(column, value, op.text == "!~")
        return _SQL_OPS[op.text](column, value)

    @staticmethod
    def contains(column: Any, text: str, negate: bool) -> ColumnElement[bool]:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond = func.lower(column).like(f"%{escaped.lower()}%", escape="\\")
        return not_(cond) if negate else cond

    def timestamp(self, text: str, tok: Token) -> float:
        try:
            return _dt.datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise self.fail(tok.pos, f"{text!r} is not a date: use 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM'") from None


def check_length(text: str, what: str) -> None:
    """Refuse an expression longer than ``MAX_LENGTH`` before reading it."""
    if len(text) > MAX_LENGTH:
        raise UsageError(f"invalid {what} {shown(text)}: longer than {MAX_LENGTH:,} characters; "
                         "shorten it (long patterns belong in code: filter the rows of runs.list)")


def compile_filter(expr: str | None) -> ColumnElement[bool]:
    """The SQL condition on the ``runs`` table that ``expr`` means (true for an empty filter)."""
    if expr is None or not str(expr).strip():
        return true()
    return _Parser(str(expr)).parse()


def parse_field(text: str) -> Field:
    """A single field reference, as used by ``--sort``."""
    parser = _Parser(text, what="sort key")
    field = parser.field()
    if parser.tok.kind != "end":
        raise parser.fail(parser.tok.pos, f"unexpected {parser.describe(parser.tok)} after the field")
    if field.kind in ("tag", "tags"):
        raise parser.fail(field.pos, "runs cannot be sorted by tags")
    return field


__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_TERMS", "Field", "check_length", "compile_filter", "duration_column",
           "parse_field"]
