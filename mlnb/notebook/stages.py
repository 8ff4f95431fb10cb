"""Stage membership in a kernel: the cells after a ``%%mlops stage`` cell continue its run.

The export puts an unmarked cell after a stage marker into that stage; in the kernel the same
holds: the stage's run, ended when its marker cell finished, is reopened for each later cell that
has no marker of its own (so ``mlnb.log_metric`` works there and counts with the stage's metrics,
as in the stage's script) and ended again when that cell finishes, failed if the cell failed.
The next ``%%mlops stage`` cell starts the next stage; a cell starting with ``%mlops`` (a command
such as ``%mlops export pipeline --check``) runs outside it. The kernel goes by the order cells run in,
the export by their place in the notebook: run the notebook top to bottom and they agree.
"""

from __future__ import annotations

from typing import Any

_MARKER = "%%mlops stage"
_open: dict[int, Any] = {}  # id(shell) -> the stage run later cells continue
_hooked: dict[int, tuple[Any, Any]] = {}  # id(shell) -> its (pre, post) run-cell callbacks
_reopened: dict[int, Any] = {}  # id(shell) -> the stage run reopened for the running cell


def _marker(raw: str | None) -> bool:
    return (raw or "").lstrip().startswith(_MARKER)


def continue_after(run: Any, shell: Any) -> None:
    """Make the cells run after this marker cell continue ``run`` (an ended stage run)."""
    key = id(shell)
    _open[key] = run
    if key in _hooked:
        return

    def before(info: Any) -> None:
        run = _open.get(key)
        if run is None:
            return
        raw = getattr(info, "raw_cell", None) or ""
        if _marker(raw):
            _open.pop(key, None)  # the next stage starts
            return
        if raw.lstrip().startswith("%mlops"):  # a command (`%mlops export --check` ...), never part of a stage
            return
        try:
            if run.reopen():
                _reopened[key] = run
        except Exception:  # the registry went away (or a bug): later cells run plainly, and it is said
            _open.pop(key, None)
            raise

    def after(result: Any) -> None:
        run = _reopened.pop(key, None)
        if run is not None:
            run.end_with(getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None))

    _hooked[key] = (before, after)
    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)


def forget(shell: Any) -> None:
    """Stop continuing stages in ``shell`` (``%unload_ext mlnb``)."""
    key = id(shell)
    _open.pop(key, None)
    running = _reopened.pop(key, None)
    if running is not None:
        running.end()
    hooks = _hooked.pop(key, None)
    if hooks is not None:
        shell.events.unregister("pre_run_cell", hooks[0])
        shell.events.unregister("post_run_cell", hooks[1])
