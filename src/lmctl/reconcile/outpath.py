"""``plan --out FILE`` must never overwrite an input, nor put a plan where specs are read."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_SPEC_SUFFIXES = frozenset({".yaml", ".yml"})


def out_conflict(out: Path, spec_files: Iterable[Path], spec_paths: Iterable[Path]) -> str | None:
    """Why ``out`` may not receive the plan (None when it may).

    Refused: any spec file or inventory that was loaded, any path inside a spec directory
    given (keep plans out of the specs), and a ``*.yaml``/``*.yml`` path next to a spec file
    given (a plan of that directory would read it as a spec).
    """
    target = out.resolve()
    for spec in spec_files:
        if spec.resolve() == target:
            return (
                f"--out {out} is one of the specs read ({spec}); saving the plan there would "
                "replace it: choose another file, e.g. --out plan.json"
            )
    for directory in spec_paths:
        if directory.is_dir() and target.is_relative_to(directory.resolve()):
            return (
                f"--out {out} is inside the spec directory {directory}; the next plan would "
                "read the plan file there as a spec: save it outside, e.g. --out plan.json"
            )
    for spec in spec_paths:
        beside = spec.is_file() and target.parent == spec.resolve().parent
        if beside and target.suffix.lower() in _SPEC_SUFFIXES:
            return (
                f"--out {out} is a YAML file next to the spec {spec}; a plan of that directory "
                "would read it as a spec: save the plan as JSON elsewhere, e.g. --out plan.json"
            )
    return None


def out_unwritable(out: Path) -> str | None:
    """Why the plan cannot be saved at ``out`` (None when it can), checked before any appliance
    is read: ``out`` is a directory, or its directory (or the nearest existing parent, the rest
    is created) is not a writable directory."""
    if out.is_dir():
        return f"--out {out} is a directory: name a file, e.g. --out {out / 'plan.json'}"
    existing = out.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"--out {out}: {existing} is not a directory"
    denied = out if out.exists() else existing
    if not os.access(denied, os.W_OK | (os.X_OK if denied.is_dir() else 0)):
        return f"--out {out}: not writable (permission denied on {denied})"
    return None
