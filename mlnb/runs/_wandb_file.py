"""Reading a W&B run file (``run-<id>.wandb``) without the ``wandb`` package.

The file is W&B's "LevelDB log" stream: a 7-byte header (``:W&B``, the magic 0xBEE1, a format
version byte), then 32 KiB blocks of chunks, each ``crc32c (4) | length (2) | type (1) | data``
(FULL, or FIRST/MIDDLE/LAST pieces of one record across blocks). Every record is a protobuf
``wandb.internal.Record``; only the few fields mlnb imports are decoded, from the wire format:

- ``run`` (17): id, project, display name, notes, tags, host, start time, config, git commit;
- ``config`` (5): updates of the run's config (``key`` / ``nested_key`` + ``value_json``);
- ``history`` (2): one row of ``wandb.log`` (items with ``_step``, ``_timestamp``, values as JSON);
- ``summary`` (3): updates of the run's summary;
- ``exit`` (18): the exit code and runtime.

Only format version 0 is known (the one every W&B client has written so far); another version is
refused by :class:`UnknownFormat` rather than read wrongly. Checksums are not verified (crc32c is
not in the standard library); a chunk cut short ends the stream, as W&B's own reader does with a
file whose writer was killed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MlnbError, UsageError

MAGIC = b":W&B"
HEADER = struct.Struct("<4sHB")
MAGIC_NUMBER = 0xBEE1
KNOWN_VERSIONS = (0,)
BLOCK = 32768
CHUNK = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class UnknownFormat(MlnbError):
    """A W&B run file of a format version this reader does not know."""


def _records(data: bytes, path: Path) -> Iterator[bytes]:
    """The records of a W&B run file (its header checked first)."""
    if len(data) < HEADER.size:
        raise UsageError(f"{path} is not a W&B run file (too short): give a folder W&B wrote offline")
    ident, magic, version = HEADER.unpack_from(data)
    if ident != MAGIC or magic != MAGIC_NUMBER:
        raise UsageError(f"{path} is not a W&B run file (its header is not ':W&B'): give a folder W&B wrote offline")
    if version not in KNOWN_VERSIONS:
        raise UnknownFormat(f"{path} is W&B run file format version {version}; mlnb reads version "
                            f"{', '.join(map(str, KNOWN_VERSIONS))}: sync it with `wandb sync` and export from "
                            "W&B, or upgrade mlnb")
    pos, pending = HEADER.size, b""
    while pos + CHUNK.size <= len(data):
        room = BLOCK - pos % BLOCK
        if room < CHUNK.size:  # a block's tail too short for a chunk header is padding
            pos += room
            continue
        _crc, length, kind = CHUNK.unpack_from(data, pos)
        start = pos + CHUNK.size
        if start + length > len(data) or length > room - CHUNK.size:
            return  # cut short: the writer stopped here
        piece = data[start:start + length]
        pos = start + length
        if kind == FULL:
            yield piece
        elif kind == FIRST:
            pending = piece
        elif kind == MIDDLE:
            pending += piece
        elif kind == LAST:
            yield pending + piece
            pending = b""
        elif kind == 0 and length == 0:
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0  # zero padding to the block's end
        else:
            return


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) of a protobuf message: ints for varints, bytes for length-delimited,
    raw bytes for fixed 32/64-bit values."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield number, value


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _items(buf: bytes) -> Iterator[tuple[str, str]]:
    """(key, value_json) of the ``update`` items of a config/summary record (or a history row):
    a nested key is joined with '.'."""
    for number, item in fields(buf):
        if number != 1:
            continue
        key, nested, value = "", [], "null"
        for n, v in fields(item):
            if n == 1:
                key = _text(v)
            elif n == 2:
                nested.append(_text(v))
            elif n == 16:
                value = _text(v)
        yield ".".join(nested) if nested else key, value


@dataclass
class WandbRun:
    """What mlnb imports of one W&B run."""

    run_id: str = ""
    project: str = ""
    name: str = ""
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    host: str = ""
    git_commit: str = ""
    started_at: float | None = None
    config: dict[str, str] = field(default_factory=dict)  # key -> JSON text
    history: list[dict[str, str]] = field(default_factory=list)  # one dict (key -> JSON text) per row
    summary: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    runtime: int | None = None
    version: int = 0


def read_run_file(path: Path) -> WandbRun:
    """Decode ``run-<id>.wandb`` into a :class:`WandbRun`."""
    run = WandbRun()
    for record in _records(path.read_bytes(), path):
        for number, value in fields(record):
            if number == 17:
                _run_record(run, value)
            elif number == 5:
                run.config.update(_items(value))
            elif number == 2:
                run.history.append(dict(_items(value)))
            elif number == 3:
                run.summary.update(_items(value))
            elif number == 18:
                run.exit_code = 0  # proto3 leaves a zero exit code out
                for n, v in fields(value):
                    if n == 1:
                        run.exit_code = v - (1 << 64) if v >= 1 << 63 else v
                    elif n == 2:
                        run.runtime = v
    return run


def _run_record(run: WandbRun, buf: bytes) -> None:
    for number, value in fields(buf):
        if number == 1:
            run.run_id = _text(value)
        elif number == 3:
            run.project = _text(value)
        elif number == 8:
            run.name = _text(value)
        elif number == 9:
            run.notes = _text(value)
        elif number == 10:
            run.tags.append(_text(value))
        elif number == 13:
            run.host = _text(value)
        elif number == 4:
            run.config.update(_items(value))
        elif number == 17:
            seconds = nanos = 0
            for n, v in fields(value):
                if n == 1:
                    seconds = v
                elif n == 2:
                    nanos = v
            run.started_at = seconds + nanos / 1e9
        elif number == 21:
            for n, v in fields(value):
                if n == 2:
                    run.git_commit = _text(v)
