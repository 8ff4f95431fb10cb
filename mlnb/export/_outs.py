"""A pipeline's outputs among the repository's: other ``dvc.yaml``/``.dvc`` files, git, ``.gitignore``.

``dvc repro`` refuses an output that git tracks ("output is already tracked by SCM") or that
another ``dvc.yaml`` or ``.dvc`` file declares too, and it does so only after running stages.
The export checks both before it writes anything, and ignores its cached outputs in git the way
DVC does (a ``/name`` line in the ``.gitignore`` of the output's folder, written by DVC's own
``scmrepo``), so ``git add -A && git commit && dvc repro`` works right after an export.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError


@dataclass(frozen=True)
class Out:
    path: str  # relative to the repository root, POSIX
    cached: bool  # DVC caches it, so git must ignore it


def declared_outs(text: str, where: str) -> list[Out]:
    """The outputs a ``dvc.yaml`` or ``.dvc`` file at ``where`` (its folder, repository-relative) declares.

    >>> declared_outs("stages:\\n  s:\\n    cmd: x\\n    wdir: ..\\n    outs: [m.pkl]\\n", "pipeline")
    [Out(path='m.pkl', cached=True)]
    """
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return []  # DVC reports a broken file itself; it declares nothing we can compare
    if not isinstance(data, dict):
        return []
    if "stages" not in data:  # a .dvc file: outs at the top, wdir beside them
        return _entries(data.get("outs"), _join(where, data.get("wdir", ".")))
    found: list[Out] = []
    for stage in (data.get("stages") or {}).values():
        if isinstance(stage, dict) and "foreach" not in stage and "matrix" not in stage:
            base = _join(where, stage.get("wdir", "."))
            for key in ("outs", "metrics", "plots"):
                found += _entries(stage.get(key), base)
    return found


def _join(base: str, rel: Any) -> str:
    return posixpath.normpath(posixpath.join(base, str(rel)))


def _entries(entries: Any, base: str) -> list[Out]:
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            path, options = entry, {}
        elif isinstance(entry, dict) and "path" in entry:  # a .dvc file's entry
            path, options = entry["path"], entry
        elif isinstance(entry, dict):  # dvc.yaml's {path: {options}}
            path, options = next(iter(entry.items()), (None, {}))
        else:
            continue
        if isinstance(path, str) and "${" not in path:  # a template cannot be compared before DVC renders it
            cached = not (isinstance(options, dict) and options.get("cache") is False)
            found.append(Out(_join(base, path), cached))
    return found


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "--literal-pathspecs", *args], cwd=root, capture_output=True, text=True,
                          encoding="utf-8", errors="surrogateescape")
    if proc.returncode:
        raise UsageError(f"git {args[0]} failed in {root}: {proc.stderr.strip().splitlines()[-1:] or '?'}")
    return proc.stdout


def _pipeline_files(root: Path) -> list[str]:
    """Every ``dvc.yaml`` and ``.dvc`` file git sees (committed or new, not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                             ":(glob)**/dvc.yaml", ":(glob)**/*.dvc"], cwd=root, capture_output=True, text=True,
                            encoding="utf-8", errors="surrogateescape")
    return sorted({p for p in listed.stdout.split("\0") if p})


@dataclass
class Guard:
    """What the export does to git once its files are written (checked before, applied after)."""

    root: Path
    outs: list[Out]
    untrack: list[str]

    def apply(self) -> None:
        if self.untrack:
            _git(self.root, "rm", "-r", "-q", "--cached", "--", *self.untrack)
        cached = [o for o in self.outs if o.cached and not _ignored_line(self.root / o.path)]
        if not cached:
            return
        from scmrepo.git import Git

        scm = Git(str(self.root))
        try:
            for out in cached:
                if len(out.path.splitlines()) > 1:  # a .gitignore line cannot hold it; DVC's would be split too
                    continue
                path = self.root / out.path
                path.parent.mkdir(parents=True, exist_ok=True)  # DVC's .gitignore goes beside the output
                scm.ignore(str(path))
        finally:
            scm.close()


def _ignored_line(path: Path) -> bool:
    """The ``.gitignore`` beside ``path`` already has DVC's line for it (saves loading scmrepo)."""
    try:
        lines = (path.parent / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return "/" + path.name in lines


def check_outputs(root: Path, out: Path, dvc_yaml: str, untrack: bool = False) -> Guard:
    """Refuse, before anything is written, outputs DVC would refuse in ``dvc repro``.

    - another ``dvc.yaml`` or a ``.dvc`` file declares the same output (or one inside it): one line
      naming that file and the paths (exporting again into the same folder replaces its own stages);
    - git tracks an output: one line offering ``--untrack``; with it, the returned guard runs
      ``git rm --cached`` on those outputs (the files stay) and nothing else.
    """
    root = root.resolve()
    here = Path(os.path.relpath(out.resolve(), root)).as_posix()
    mine = [o for o in declared_outs(dvc_yaml, here) if o.path != ".." and not o.path.startswith("../")]
    own_file = posixpath.normpath(posixpath.join(here, "dvc.yaml"))
    for other in _pipeline_files(root):
        if other == own_file:
            continue
        try:
            text = (root / other).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        theirs = declared_outs(text, posixpath.dirname(other) or ".")
        clash = sorted({m.path for m in mine for t in theirs if _overlap(m.path, t.path)})
        if clash:
            hint = ("export into its folder to replace it, or remove it first" if other.endswith("dvc.yaml")
                    else "stop tracking it with `dvc remove`, or write another file")
            raise UsageError(f"{other} already declares {', '.join(clash)} as an output ({hint}); "
                             "DVC refuses an output declared twice")
    listed = _git(root, "ls-files", "-z", "--cached", "--", *[o.path for o in mine]) if mine else ""
    tracked_files = [p for p in listed.split("\0") if p]
    tracked = sorted({o.path for o in mine for t in tracked_files if _overlap(o.path, t)})
    if tracked and not untrack:
        raise UsageError(f"git tracks {', '.join(tracked)}, which the pipeline writes (`dvc repro` would "
                         "refuse it): export again with --untrack to stop tracking it in git (git rm --cached; "
                         "the file stays), or remove it from the stage; nothing was written")
    return Guard(root, mine, tracked)
