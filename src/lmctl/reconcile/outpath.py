"""``plan --out FILE`` must never overwrite an input, nor put a plan where specs are read."""

from __future__ import annotations

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
