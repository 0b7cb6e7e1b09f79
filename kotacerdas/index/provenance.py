"""Fingerprints carried by every result: SHA-256 of the method settings (and file) and of the input data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd


def frame_sha256(*frames: pd.DataFrame) -> str:
    """SHA-256 over each frame's column names and values: numbers as their float64 bytes (so 1 and 1.0 hash
    alike), anything else as text."""
    h = hashlib.sha256()
    for frame in frames:
        h.update(json.dumps([str(c) for c in frame.columns]).encode())
        for col in frame.columns:
            values = frame[col]
            if values.dtype.kind in "biuf":
                h.update(values.to_numpy(dtype="float64").tobytes())
            else:
                text = values.astype(object).where(values.notna(), "\x00").tolist()
                h.update("\x1f".join(map(str, text)).encode())
            h.update(b"\x1e")
    return h.hexdigest()


def data_fingerprint(fw) -> str:  # a Framework (not imported: meta imports this module)
    """The hash of the validated iData and iMeta a build started from."""
    return fw.sha256


def method_fingerprint(method) -> str:  # an IndexMethod
    """The hash of the validated settings (defaults filled in), so equivalent files hash alike."""
    text = json.dumps(method.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
