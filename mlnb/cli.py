"""One argparse tree for ``mlnb ...`` in a terminal and ``%mlops ...`` in a notebook.

Each area contributes its verbs through a ``register(subparsers)`` function in its ``_cli``
module. A verb's handler takes ``(args, ctx)`` and returns a result object (or None); it holds
no logic of its own beyond calling the public API.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MlnbError, UsageError

#: Modules whose ``register(subparsers)`` adds verbs, in the order ``--help`` lists them.
AREA_CLIS = [
    "mlnb.data._cli",
    "mlnb.export._cli",
    "mlnb.runs._cli",
    "mlnb.checks._cli",
    "mlnb.models._cli",
    "mlnb.serve._cli",
    "mlnb.monitor._alerts_cli",  # makes the `monitor` group; the next two join it (verb_group)
    "mlnb.monitor._cli",
    "mlnb.monitor._ops_cli",
    "mlnb.sync._cli",
]


@dataclass
class Context:
    """What a verb may need besides its arguments."""

    cell: str | None = None  # the body of a %%mlops cell
    shell: Any = None  # the IPython shell, in a notebook
    prog: str = "mlnb"
    extra: dict[str, Any] = field(default_factory=dict)


class ArgumentParser(argparse.ArgumentParser):
    """Raises :class:`UsageError` instead of exiting, so a magic can show one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


Handler = Callable[[argparse.Namespace, Context], Any]

#: Verbs that only mean something as a ``%%mlops`` cell magic; ``mlnb --help`` does not list them.
CELL_VERBS: set[str] = set()


def add_verb(sub: Any, name: str, handler: Handler, help: str, cell_only: bool = False,
             **kwargs: Any) -> argparse.ArgumentParser:
    """Add a verb to a subparsers object and bind its handler.

    ``help`` is plain text (a ``%`` is shown as written); a ``cell_only`` verb is hidden from the
    terminal's command list but still parses, so ``mlnb run`` explains where it belongs.
    """
    parser = sub.add_parser(name, help=help.replace("%", "%%"), description=help, **kwargs)
    parser.set_defaults(handler=handler)
    if cell_only:
        CELL_VERBS.add(name)
    return parser


def verb_group(sub: Any, name: str, help: str) -> Any:
    """The subcommands of the verb group ``name`` (``mlnb monitor ...``), made on first use, so
    several modules can each add their verbs to one group."""
    parser = sub.choices.get(name)
    if parser is None:
        parser = add_verb(sub, name, lambda args, ctx: parser.print_help(), help)
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return found[0] if found else parser.add_subparsers(title="commands", metavar="COMMAND",
                                                        parser_class=ArgumentParser)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON (stable keys)")


def _init(args: argparse.Namespace, ctx: Context) -> Any:
    from ._api import init

    return init(args.path, remote=args.remote)


def _doctor(args: argparse.Namespace, ctx: Context) -> Any:
    from .monitor._doctor import doctor

    return doctor()


def _demo(args: argparse.Namespace, ctx: Context) -> Any:
    from ._demo import open_lab, seed

    result = seed(args.path)
    if args.no_lab:
        return result
    print(result)
    open_lab(result["project"])
    return None  # pragma: no cover - exec does not return


def build_parser(prog: str = "mlnb") -> ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Notebook-first MLOps: version data, record runs, check and export — no server.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--version", action=_VersionAction, help="print mlnb's version and exit")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=ArgumentParser)
    p = add_verb(sub, "init", _init, "make this folder an mlnb project (git + DVC + registry); safe to repeat")
    p.add_argument("path", nargs="?", default=None, help="project folder (default: the current one)")
    p.add_argument("--remote", help="default DVC remote: a folder or any URL DVC understands")
    p = add_verb(sub, "demo", _demo, "make a small demo project (data versions, runs) and open JupyterLab on it")
    p.add_argument("path", nargs="?", default=None,
                   help="a new or empty folder, or a demo made before, reopened as it is (default: ~/mlnb-demo)")
    p.add_argument("--no-lab", action="store_true", help="only create the project (a headless demo)")
    p = add_verb(sub, "doctor", _doctor, "check the set-up: git, DVC, remote, disk, registry, runs, "
                 "Jupyter extensions, servers, monitoring (exit 1 on any error)")
    add_json_flag(p)
    for module in AREA_CLIS:
        importlib.import_module(module).register(sub)
    if not prog.startswith("%"):  # a terminal: cell magics are not commands there
        sub._choices_actions = [a for a in sub._choices_actions if a.dest not in CELL_VERBS]
    return parser


class _VersionAction(argparse.Action):
    """``--version``: looks the version up only when asked (importlib.metadata costs ~25 ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        parser._print_message(f"mlnb {package_version()}\n", sys.stdout)
        parser.exit()


def package_version() -> str:
    """The installed distribution's version (the source tree's ``__version__`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlnb")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def run(argv: Sequence[str], ctx: Context | None = None) -> tuple[argparse.Namespace, Any]:
    """Parse ``argv`` and call its verb; returns the parsed args and the verb's result."""
    __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of a cell's traceback
    ctx = ctx or Context()
    parser = build_parser(ctx.prog)
    args = parser.parse_args(list(argv))
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return args, None
    return args, handler(args, ctx)


#: Exit codes, the same for every verb (docs/cli.md). Only a check that ran to its end exits 1.
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def _fail(line: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(" ".join(line.split()), file=sys.stderr)  # one line, whatever the message held
    return code


#: what to do about an OSError, by errno
_OS_ADVICE = {
    errno.ENOENT: "check the path; a folder to write into must exist",
    errno.ENOTDIR: "check the path",
    errno.EISDIR: "give a file name, not a folder",
    errno.EACCES: "fix the permissions or choose another path",
    errno.EPERM: "fix the permissions or choose another path",
    errno.EROFS: "choose a path on a writable filesystem",
    errno.ENOSPC: "free space, then run the command again",
    errno.EDQUOT: "free space, then run the command again",
}


def os_error_line(exc: OSError) -> str:
    """One line for an OSError: what the system refused, on which path, and what to do."""
    where = f": {exc.filename}" if exc.filename else ""
    advice = _OS_ADVICE.get(exc.errno or 0, "free space or fix permissions, then run the command again")
    return f"{exc.strerror or exc}{where} ({advice})"


def _show_debug_log() -> None:
    """``--debug`` also prints the "mlnb" log: errors mlnb handled on the way (a fetch that failed
    before the "not found" it led to, a heartbeat that could not write), tracebacks included."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mlnb: debug: %(name)s: %(message)s"))
    logger = logging.getLogger("mlnb")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        _show_debug_log()
    try:
        args, result = run(argv)
    except MlnbError as exc:
        return _fail(f"mlnb: error: {exc}", exc.exit_code, debug)
    except KeyboardInterrupt:
        print("mlnb: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the machine refused (disk full, permissions): not the user's check
        return _fail(f"mlnb: error: {os_error_line(exc)}", EXIT_ERROR, debug)
    except Exception as exc:  # a bug: never exit 1, which a CI gate reads as "check failed"
        return _fail(
            f"mlnb: internal error: {type(exc).__name__}: {exc} "
            "(a bug in mlnb: rerun with --debug for the traceback and report it)",
            EXIT_INTERNAL,
            debug,
        )
    if result is not None:
        try:
            print(result.to_json() if getattr(args, "json", False) else str(result), flush=True)
        except BrokenPipeError:  # `mlnb ... | head`: the reader has gone, which is not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            return 141  # what a shell reports for a process stopped by SIGPIPE
    return int(getattr(result, "exit_code", 0) or 0)
