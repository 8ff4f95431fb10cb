"""A registered data version as a value (no registry or DVC import: the CLI's fast add prints it)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .._display import Record, format_bytes, format_time
from ..errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")



class HashedVersion:
    """What a data version and a model version share: ``NAME@N`` and whether DVC holds a folder."""

    name: str
    version: int
    md5: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


@dataclass(frozen=True)
class DataVersion(HashedVersion):
    """One registered version of a dataset."""

    id: int
    name: str
    version: int
    path: str
    md5: str
    size: int
    nfiles: int | None
    rows: int | None
    cols: int | None
    message: str
    git_commit: str | None
    created_at: float
    summary: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("summary")
        out["ref"] = self.ref
        return out

    def to_json(self) -> str:
        """``to_dict()`` as JSON: what ``mlnb data show REF --json`` prints."""
        return json.dumps(self.to_dict(), indent=2)

    def _record(self) -> Record:
        return Record(
            {k: v for k, v in self.to_dict().items() if k not in ("id",)},
            title=f"dataset {self.ref}",
            formatters={"size": format_bytes, "created_at": format_time},
        )

    def __str__(self) -> str:
        return str(self._record())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self._record()._repr_html_()


def _validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(
            f"invalid dataset name {name!r}: use letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return name


def version_from_mapping(m: Mapping[str, Any]) -> DataVersion:
    """A version from a registry row (the data_versions columns plus the dataset's name and path)."""
    return DataVersion(
        id=m["id"], name=m["name"], version=m["version"], path=m["path"], md5=m["md5"], size=m["size"],
        nfiles=m["nfiles"], rows=m["rows"], cols=m["cols"], message=m["message"] or "",
        git_commit=m["git_commit"], created_at=m["created_at"],
        summary=json.loads(m["summary"]) if m["summary"] else None,
    )
