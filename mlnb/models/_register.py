"""Registering model versions: the bytes go into DVC's cache first, then one transaction adds
the version row with its signature, profile and links. A process killed in between leaves at
most an unreferenced object in the cache, never a version without its bytes.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .._lock import project_lock
from .._project import Project, current_project
from ..errors import Conflict, MlnbError, NotFound, UsageError
from ..store import registry
from ..store._schema import model_data as md
from ..store._schema import model_versions as mv
from ..store._schema import models as mo
from . import _files
from ._refs import ModelVersion, resolve_in, validate_name

#: the frame attribute mlnb.data.load sets, naming the data version a frame was read from
DATA_VERSION_ATTR = "mlnb_data_version"
#: flavours register_path checks the file of (others are recorded as stated); onnx and torch
#: only when given one file (a folder of theirs is recorded as stated)
_CHECKED_FLAVOURS = {"sklearn", "xgboost", "onnx", "torch"}


def register(name: str, model: Any, data: Any = None, metrics: Mapping[str, float] | None = None,
             message: str = "", format: str = "skops") -> ModelVersion:
    """Save ``model`` (skops by default), version it through DVC and register it as ``name@N``.

    ``data`` (a DataFrame, or a data reference such as ``"train@2"``) gives the input signature
    and a training profile kept with the version; a frame read with :func:`mlnb.data.load`, or a
    reference, links its data version. Inside an active run the run is linked. The same bytes
    registered twice are one version. ``format="pickle"`` or ``"joblib"`` only when asked; loading it then needs
    ``trusted=True``.

    >>> mv = mlnb.models.register("churn", model, data=X_train, metrics={"auc": 0.91})  # doctest: +SKIP
    >>> mv.ref  # doctest: +SKIP
    'churn@1'
    """
    project = current_project()
    name = validate_name(name)
    if format not in _files.FORMATS:
        raise UsageError(_files.unknown_format(format))
    frame, data_ids = _training_data(data)
    clean = _check_metrics(metrics)
    flavour = "sklearn" if type(model).__module__.split(".")[0] == "sklearn" else type(model).__module__.split(".")[0]
    with _said_when_disk_full(project, name), _scratch(project) as tmp:
        path = tmp / f"model.{format}"
        md5 = _files.write_model(model, path, format)
        return _add(project, name, path, flavour, format, frame, data_ids, clean, message, md5)


def register_path(name: str, path: str | os.PathLike[str], flavour: str, data: Any = None,
                  metrics: Mapping[str, float] | None = None, message: str = "") -> ModelVersion:
    """Register a model file or folder another library saved (ONNX, XGBoost JSON, a torch state
    dict ...) with its ``flavour`` recorded. mlnb does not load these; ``mlnb.models.path(ref)``
    gives their bytes back.

    >>> mlnb.models.register_path("churn-xgb", "model.json", flavour="xgboost")  # doctest: +SKIP
    """
    project = current_project()
    name = validate_name(name)
    if not isinstance(flavour, str) or not flavour.strip() or not flavour.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"invalid flavour {flavour!r}: name the library that saved it (onnx, xgboost, torch ...)")
    full = Path(path)
    if not full.exists():
        raise NotFound(f"{path} does not exist: check the path (relative to {Path.cwd()})")
    fmt = "dir" if full.is_dir() else "file"
    if flavour in _CHECKED_FLAVOURS and not (full.is_dir() and flavour in ("onnx", "torch")):
        fmt = _check_flavour(full, flavour)
    frame, data_ids = _training_data(data)
    with _said_when_disk_full(project, name):
        return _add(project, name, full, flavour, fmt, frame, data_ids, _check_metrics(metrics), message)


@contextmanager
def _said_when_disk_full(project: Project, name: str) -> Iterator[None]:
    """A full disk while registering is one line (the version row is written last, so nothing was
    registered); the temporary files DVC's copy into the cache left since it began are removed."""
    began = time.time() - 1  # file times may be rounded down
    try:
        yield
    except Exception as exc:
        from ..data._write import disk_full, sweep_cache_temps

        if disk_full(exc):
            sweep_cache_temps(project, since=began)
            raise MlnbError(f"the disk is full while registering model {name} (nothing was registered): "
                            "free some space, then register it again") from exc
        raise


def _check_flavour(full: Path, flavour: str) -> str:
    """Refuse a file that is not a model of the stated flavour; returns the format to record."""
    if full.is_dir():
        raise UsageError(f"{full} is a folder, not a {flavour} model file")
    if flavour in ("onnx", "torch"):
        _check_header(full, flavour)
        return "file"
    if flavour == "sklearn":
        from .._safe_load import untrusted

        untrusted(full)  # raises, naming the problem, when it is not a readable skops file
        return "skops"
    try:
        json.loads(full.read_bytes())
    except ValueError:
        raise UsageError(f"{full} is not an XGBoost JSON model (not JSON): save it with "
                         "model.save_model('model.json')") from None
    return "file"


def _check_header(full: Path, flavour: str) -> None:
    """An ONNX file is a protobuf ModelProto: it opens with field 1, ir_version (byte 0x08). A torch
    file is what ``torch.save`` writes: a zip holding ``data.pkl``, or (before torch 1.6) a pickle."""
    import zipfile

    with open(full, "rb") as fh:
        head = fh.read(2)
    if flavour == "onnx":
        if head[:1] != b"\x08":
            raise UsageError(f"{full} is not an ONNX model (no ModelProto header): export it with "
                             "torch.onnx.export or skl2onnx, or state its real flavour")
        return
    if zipfile.is_zipfile(full):
        with zipfile.ZipFile(full) as zf:
            if any(name.endswith("data.pkl") for name in zf.namelist()):
                return
    elif head[:1] == b"\x80":  # a pickle's PROTO opcode
        return
    raise UsageError(f"{full} is not a torch file (neither torch.save's zip nor a pickle): save it with "
                     "torch.save(model.state_dict(), path), or state its real flavour")


def _check_metrics(metrics: Mapping[str, float] | None) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise UsageError(f"metrics must be a mapping of name to number, got {type(metrics).__name__}")
    out = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key or isinstance(value, bool):
            raise UsageError(f"invalid metric {key!r}: {value!r}: give a name and a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"metric {key!r} is {value!r}: metrics are numbers") from None
        if math.isnan(number):
            raise UsageError(f"metric {key!r} is NaN: gates cannot compare it; leave it out")
        out[key] = number
    return out


def _training_data(data: Any) -> tuple[Any, list[int]]:
    """The training frame and the data versions it came from."""
    if data is None:
        return None, []
    if isinstance(data, str):
        from .. import data as data_area

        version = data_area.resolve(data)
        return data_area.load(version.ref), [version.id]
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise UsageError(f"data= takes a pandas DataFrame or a data reference such as 'train@2', "
                         f"got {type(data).__name__}")
    linked = data.attrs.get(DATA_VERSION_ATTR)
    return data, [int(linked)] if isinstance(linked, int) else []


def _active_run_id() -> str | None:
    """The run active in this process, if the runs area is in use (nothing imported otherwise)."""
    if "mlnb.runs._run" not in sys.modules:
        return None
    from .. import runs

    run = runs.active_run()
    return run.id if run is not None else None


@contextmanager
def _scratch(project: Project) -> Iterator[Path]:
    """A private folder under ``.mlnb/tmp/models/``, removed after; folders that killed
    processes left behind are removed on the way in."""
    parent = project.mlnb_dir / "tmp" / "models"
    for left in parent.glob("*-*") if parent.is_dir() else ():
        pid = left.name.partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True)
    tmp = parent / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _add(project: Project, name: str, path: Path, flavour: str, fmt: str, frame: Any, data_ids: list[int],
         metrics: dict[str, float], message: str, md5: str | None = None) -> ModelVersion:
    """``md5``: the hash of the file at ``path`` when the caller wrote it and knows it."""
    signature = profile_md5 = None
    with project_lock(project.root, "models", what=f"registering model {name}"):
        md5, size, nfiles = _files.to_cache(project, path, md5)
        reg = registry(project)
        same = _existing(reg, name, md5)
        if same is not None:
            return same
        if frame is not None:
            signature, profile_md5 = _signature_and_profile(project, frame)
        # the lock covers this machine; processes on other machines sharing a PostgreSQL registry
        # may take the same number first: the unique keys refuse it, and the next try reads again
        for _attempt in range(_ATTEMPTS):
            now = time.time()
            try:
                with reg.write() as conn:
                    mid = conn.execute(select(mo.c.id).where(mo.c.name == name)).scalar()
                    if mid is None:
                        mid = conn.execute(mo.insert().values(name=name, created_at=now)).inserted_primary_key[0]
                    number = (conn.execute(select(func.max(mv.c.version)).where(mv.c.model_id == mid)).scalar()
                              or 0) + 1
                    vid = conn.execute(mv.insert().values(
                        model_id=mid, version=number, md5=md5, flavour=flavour, format=fmt, size=size,
                        nfiles=nfiles, run_id=_active_run_id(), metrics=json.dumps(metrics), signature=signature,
                        profile_md5=profile_md5, message=message or "", user=_user(), host=socket.gethostname(),
                        git_commit=project.git_commit(), created_at=now,
                    )).inserted_primary_key[0]
                    for data_id in dict.fromkeys(data_ids):
                        conn.execute(md.insert().values(model_version_id=vid, data_version_id=data_id))
                    return resolve_in(conn, f"{name}@{number}")
            except IntegrityError:
                same = _existing(reg, name, md5)
                if same is not None:
                    return same
    raise Conflict(f"model {name} kept getting new versions from other processes while registering "
                   f"({_ATTEMPTS} tries): register it again")


#: how often a register is tried again when another machine took the version number first
_ATTEMPTS = 5


def _existing(reg: Any, name: str, md5: str) -> ModelVersion | None:
    """The version of ``name`` holding exactly these bytes, if there is one."""
    with reg.read() as conn:
        mid = conn.execute(select(mo.c.id).where(mo.c.name == name)).scalar()
        if mid is None:
            return None
        same = conn.execute(select(mv.c.version).where(mv.c.model_id == mid, mv.c.md5 == md5)).scalar()
        return resolve_in(conn, f"{name}@{same}") if same is not None else None


def _signature_and_profile(project: Project, frame: Any) -> tuple[str, str]:
    """The frame's schema (JSON) and the DVC hash of its profile, put in the cache."""
    from .. import checks

    signature = json.dumps(checks.infer_schema(frame).to_dict())
    with _scratch(project) as tmp:
        checks.profile(frame).save(tmp / "profile.npz")
        profile_md5, _, _ = _files.to_cache(project, tmp / "profile.npz")
    return signature, profile_md5


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return str(os.getuid())
