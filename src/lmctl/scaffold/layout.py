"""What ``lmctl init`` writes: each file's path in the new repository and its text.

The templates are package data, read through ``importlib.resources`` (so they are there in a
wheel); the CI files name the lmctl version that wrote them, and the JSON Schemas are generated
by this lmctl's own models, so that they describe exactly what it accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from lmctl.specs import SCHEMA_DIR, json_schema
from lmctl.specs.loader import SchemaKind

VERSION_MARK = "@LMCTL_VERSION@"
"""Where a template names the lmctl version the CI jobs install."""


@dataclass(frozen=True)
class ScaffoldFile:
    """One file of a new spec repository: ``path`` relative to its root, ``text`` its content."""

    path: PurePosixPath
    text: str


def _template(name: str) -> str:
    return resources.files("lmctl.scaffold").joinpath("templates", name).read_text("utf-8")


def _schema(kind: SchemaKind) -> ScaffoldFile:
    """The schema file as ``lmctl schema --kind KIND`` prints it."""
    text = json.dumps(json_schema(kind), indent=2) + "\n"
    return ScaffoldFile(PurePosixPath(SCHEMA_DIR, f"{kind}.schema.json"), text)


def repository_files(version: str) -> tuple[ScaffoldFile, ...]:
    """The files of a new spec repository whose CI installs lmctl ``version``, in the order
    they are listed."""
    pinned = {
        ".github/workflows/lmctl.yml": "github-workflow.yml",
        ".gitlab-ci.yml": "gitlab-ci.yml",
    }
    plain = {
        "arrays/appliances.yaml": "appliances.yaml",
        "arrays/mail.yaml": "mail.yaml",
        ".gitignore": "gitignore",
        ".github/actionlint.yaml": "actionlint.yaml",
    }
    return (
        *(ScaffoldFile(PurePosixPath(path), _template(name)) for path, name in plain.items()),
        _schema("array"),
        _schema("inventory"),
        *(
            ScaffoldFile(PurePosixPath(path), _template(name).replace(VERSION_MARK, version))
            for path, name in pinned.items()
        ),
    )
