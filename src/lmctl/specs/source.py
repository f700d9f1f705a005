"""Spec files as written: YAML read safely with the line of every key and item, and the
diagnostics that point at a file, a line and a field.

Plain ``yaml.safe_load`` keeps the last of two duplicate keys silently, expands aliases without a
bound and forgets where a value came from. ``SpecLoader`` composes the node tree with PyYAML's safe
loader (libyaml when present) and builds plain Python values itself, so that it can record line
numbers, reject duplicate keys and merge keys, and stop a hostile document early.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from lmctl.errors import LmctlError
from lmctl.files import FileIdentity, NotARegularFile, open_regular
from lmctl.text import excerpt, one_line

# An error stops everything; a warning is printed and lmctl goes on; a notice is information
# (e.g. a release past Microsoft's end of support) that fails nothing, not even a strict CI.
Severity = Literal["error", "warning", "notice"]
_SEVERITY_ORDER: dict[Severity, int] = {"error": 0, "warning": 1, "notice": 2}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one spec file: where it is (file, line, field) and what is wrong.

    ``line`` is 1-based, or None when the problem concerns a file as a whole. ``field`` is the
    dotted path of the YAML key (``members[1].address``), empty for the whole document. ``file``
    and ``message`` are kept ``one_line``: a file may be named anything (a newline, a byte that
    is not UTF-8), and what is printed of it, as text, Markdown or JSON, stays one valid line.
    """

    severity: Severity
    file: str
    line: int | None
    field: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", one_line(self.file))
        object.__setattr__(self, "message", one_line(self.message))

    @property
    def is_error(self) -> bool:
        """True for an error (stops everything), False for a warning or a notice."""
        return self.severity == "error"

    @property
    def location(self) -> str:
        """``file:line`` (or just the file when no line applies)."""
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.location}: {self.severity}:{field} {self.message}"

    def as_json(self) -> dict[str, object]:
        """A plain mapping for ``--format json``."""
        return asdict(self)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Diagnostics in reading order: by file, then line, errors before warnings before notices
    on one line."""
    return tuple(
        sorted(
            diagnostics,
            key=lambda d: (d.file, d.line or 0, _SEVERITY_ORDER[d.severity], d.field, d.message),
        )
    )


class SpecError(LmctlError):
    """The specs hold at least one error; ``diagnostics`` lists every error, warning and notice
    found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        super().__init__("\n".join(str(d) for d in errors) or "invalid specs")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """Only the errors."""
        return tuple(d for d in self.diagnostics if d.is_error)


def field_path(location: Sequence[str | int]) -> str:
    """``('members', 1, 'address')`` → ``members[1].address``; a key is shown as an
    ``excerpt`` (an unknown key is whatever the file holds)."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += excerpt(part) if not text else f".{excerpt(part)}"
    return text


# Spec files are a few kilobytes; a megabyte is already far beyond any real array or inventory.
MAX_FILE_BYTES = 1024 * 1024
# Values built from one document, counting every alias use: bounds "billion laughs" expansion.
MAX_VALUES = 50_000
# Nesting of mappings and sequences; a spec needs five levels.
MAX_DEPTH = 32

Location = tuple[str | int, ...]
# The tags of plain YAML values; anything else (``!!python/object``, ``!site``) is refused.
_STANDARD_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(
    f"{_STANDARD_TAG}{name}"
    for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
)
_TAG_NAMES = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:timestamp": "a valid date",
}

try:  # libyaml's parser when present: the same results, several times faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - pure-Python PyYAML
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class YamlProblem(LmctlError):
    """The file cannot be read as one YAML document (``load_specs`` reports it as a diagnostic).

    ``line`` is 1-based or None; ``location`` is the key path the problem is in, when known
    (``('members', 0, 'address')``), empty for the file as a whole. ``raw`` holds the file's bytes
    when they could be read (``read_document`` sets it).
    """

    raw: bytes = b""

    def __init__(self, message: str, line: int | None = None, location: Location = ()) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.location = location


@dataclass(frozen=True)
class YamlDocument:
    """One parsed spec file: its content as plain values, and the line each value starts on."""

    path: Path
    display: str
    raw: bytes
    content: object
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Sequence[str | int]) -> int | None:
        """The line of ``location``, or of its nearest ancestor that the file spells out."""
        parts = tuple(location)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get(())

    def diagnostic(
        self, severity: Severity, location: Sequence[str | int], message: str
    ) -> Diagnostic:
        """A diagnostic pointing at ``location`` (a key path) inside this file."""
        return Diagnostic(
            severity=severity,
            file=self.display,
            line=self.line_of(location),
            field=field_path(location),
            message=message,
        )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class SpecLoader(_BaseLoader):
    """A safe loader that records node start lines, rejects duplicate keys, bounds expansion."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[Location, int] = {}
        self._budget = MAX_VALUES

    def load_located(self) -> object:
        """Build the single document of the stream; record the line of every key and item."""
        node = self.get_single_node()
        if node is None:
            raise YamlProblem(
                "the file is empty: expected an array spec (name:, site:, exchange:, ...) "
                "or an inventory (appliances:)",
                1,
            )
        self.lines[()] = _line(node)
        return self._build(node, (), 0)

    def _build(self, node: yaml.Node, location: Location, depth: int) -> object:
        self._budget -= 1
        if self._budget < 0 or depth > MAX_DEPTH:
            # An alias's node keeps the line of its anchor: name the top-level key being built.
            top = location[:1]
            problem = (
                f"the document expands to more than {MAX_VALUES} values (an alias bomb?); "
                "spec files must stay small"
                if self._budget < 0
                else f"nesting deeper than {MAX_DEPTH} levels (a spec needs five)"
            )
            raise YamlProblem(problem, self.lines.get(top, _line(node)), top)
        if node.tag not in _PLAIN_TAGS:
            raise YamlProblem(
                f"the YAML tag '{excerpt(node.tag.replace(_STANDARD_TAG, '!!'))}' is not allowed "
                "in a spec; write plain values",
                _line(node),
                location,
            )
        if isinstance(node, yaml.MappingNode):
            return self._build_mapping(node, location, depth)
        if isinstance(node, yaml.SequenceNode):
            items: list[object] = []
            for index, child in enumerate(node.value):
                self.lines[(*location, index)] = _line(child)
                items.append(self._build(child, (*location, index), depth + 1))
            return items
        return self._scalar(node, location)

    def _scalar(self, node: yaml.Node, location: Location) -> object:
        # PyYAML's constructors raise plain ValueError/KeyError for values that look like a
        # date or carry an explicit tag but are not one (2020-13-45, !!bool maybe).
        try:
            return self.construct_object(node, deep=True)
        except (ValueError, KeyError, yaml.YAMLError):
            raise YamlProblem(
                # The value itself is not repeated: it may be a secret written by mistake.
                f"the value is not {_TAG_NAMES.get(node.tag, 'valid')}; "
                "put it in quotes if it is meant as text",
                _line(node),
                location,
            ) from None

    def _build_mapping(
        self, node: yaml.MappingNode, location: Location, depth: int
    ) -> dict[str, object]:
        mapping: dict[str, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem(
                    "YAML merge keys (<<) are not supported: write the keys out",
                    _line(key_node),
                    location,
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(
                    "a key must be a plain word, not a list or mapping", _line(key_node), location
                )
            # The key as written: `on:` or `1000:` stay text instead of turning into True or 1000.
            key = str(key_node.value)
            key_location = (*location, key)
            if key in mapping:
                first = self.lines.get(key_location)
                raise YamlProblem(
                    f"duplicate key '{excerpt(key)}' (first given on line {first}); "
                    "each key may appear once in a mapping",
                    _line(key_node),
                    key_location,
                )
            self.lines[key_location] = _line(key_node)
            mapping[key] = self._build(value_node, key_location, depth + 1)
        return mapping


def decode(raw: bytes) -> str:
    """The file's text; only UTF-8 (with or without a byte-order mark) is accepted."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise YamlProblem(
            f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start});"
            " save it as UTF-8",
            line,
        ) from None


def read_bounded(path: Path, expected: FileIdentity | None = None) -> bytes:
    """The file's bytes, refusing files above ``MAX_FILE_BYTES`` before reading them.

    A link is followed (the directory scan has checked where it leads); what is opened must be a
    regular file, and ``expected``'s file when given (``lmctl.files.open_regular``).
    """
    try:
        with open_regular(path.resolve(strict=True), expected) as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise YamlProblem(_too_large(size))
            raw = stream.read(MAX_FILE_BYTES + 1)
    except NotARegularFile as error:
        raise YamlProblem(str(error.strerror)) from None
    except (OSError, RuntimeError) as error:  # RuntimeError: a link loop (Python < 3.13)
        strerror = error.strerror if isinstance(error, OSError) else None
        raise YamlProblem(f"cannot read the file: {strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(_too_large(len(raw)))
    return raw


def _too_large(size: int) -> str:
    return (
        f"the file is {size / 1_000_000:.1f} MB; lmctl reads spec files of at most "
        f"{MAX_FILE_BYTES // 1024} KiB (1 MiB)"
    )


def parse_text(text: str) -> tuple[object, dict[Location, int]]:
    """Parse one YAML document; returns its values and the line of every key and item."""
    loader: SpecLoader | None = None
    try:
        # Inside the try: the pure-Python reader already checks the characters here.
        loader = SpecLoader(text)
        content = loader.load_located()
    except yaml.reader.ReaderError as error:
        raise YamlProblem(
            f"the file holds the control character U+{error.character:04X}, which YAML does not "
            "allow; remove it",
            text[: error.position].count("\n") + 1,
        ) from None
    except yaml.MarkedYAMLError as error:
        line, note = _yaml_lines(error)
        reason = _yaml_reason(error)
        hint = _indentation_hint(error, text)
        if _tab_at(text, error.problem_mark):
            reason = "a tab character; YAML indents with spaces only: replace the tab with spaces"
            hint = ""
        raise YamlProblem(f"malformed YAML: {reason}{note}{hint}", line) from None
    except yaml.YAMLError as error:
        raise YamlProblem(f"malformed YAML: {error}") from None
    except RecursionError:
        raise YamlProblem("malformed YAML: nesting too deep") from None
    finally:
        if loader is not None:
            loader.dispose()
    return content, loader.lines


def _yaml_lines(error: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The line to report and a note naming the other line when the parser's marks differ.

    PyYAML marks where it gave up (``problem_mark``) and where the construct it was reading
    started (``context_mark``). For a token (``while scanning`` a key or a quoted string) and
    for an unclosed ``[``/``{`` the start is the line to fix: a key without ``:`` is only noticed
    lines later, after any comments. For a block (``while parsing a block mapping``) the start
    can be far above, so the place the parser gave up is reported.
    """
    problem = None if error.problem_mark is None else int(error.problem_mark.line) + 1
    context = None if error.context_mark is None else int(error.context_mark.line) + 1
    started = (error.context or "").startswith(("while scanning", "while parsing a flow"))
    line = context if started and context is not None else (problem or context)
    other = problem if line == context else context
    if line is None or other is None or other == line:
        return line, ""
    if line == context:
        return line, f"; the parser noticed it only on line {other}"
    return line, f" (in the block that starts on line {other})"


def _yaml_reason(error: yaml.MarkedYAMLError) -> str:
    parts = [part for part in (error.problem, error.context) if part]
    if "expected a single document" in " ".join(parts):
        return "the file holds more than one YAML document (---); put one spec per file"
    if error.problem == "could not find expected ':'":
        return "a key without ':' (write key: value)"
    return "; ".join(parts) or str(error)


# After a list item's '- ': its first key (``- name: A``), whose column the item's other keys
# take.
_ITEM_KEY = re.compile(r"-( +)[^\s#{\[\]}'\"][^:#]*:(?: |$)")


def _indentation_hint(error: yaml.MarkedYAMLError, text: str) -> str:
    """What to check when the parser found a line that fits no list or mapping around it
    (libyaml and PyYAML word it differently; both say which block they were parsing), or a
    ``:`` where no key can start: ``''`` for any other error."""
    mark, start = error.problem_mark, error.context_mark
    if mark is None:
        return ""
    line = int(mark.line) + 1
    lines = text.splitlines()
    if str(error.problem or "").startswith("mapping values are not allowed"):
        if not _continues_above(lines, int(mark.line)):
            return "; put a value that holds ': ' in quotes"
        return (
            f"; put a value that holds ': ' in quotes, or check the indentation of line {line}:"
            " a line indented deeper than the key above it continues that key's value"
        )
    if error.context == "while parsing a block collection" and start is not None:
        # The item the line belongs to: the last one above it (``- name: A``).
        items = (
            text[start.column :]
            for text in reversed(lines[start.line : mark.line])
            if text[start.column :].startswith("-")
        )
        key = _ITEM_KEY.match(next(items, ""))
        under = (
            f", and an item's other keys line up under its first one (column "
            f"{start.column + 1 + len(key.group(1)) + 1})"
            if key
            else ""
        )
        return (
            f"; check the indentation of line {line}: this list's items start with '- ' at "
            f"column {start.column + 1}{under}"
        )
    if error.context == "while parsing a block mapping":
        return (
            f"; check the indentation of line {line}: a mapping's keys line up at one column, "
            "and a list's items start with '- ' at one column"
        )
    return ""


def _continues_above(lines: Sequence[str], index: int) -> bool:
    """True when line ``index`` (0-based) is indented deeper than the nearest line above it
    that holds something besides a comment, and that line ends in a value (``name: A``, not
    ``https:``): YAML reads the deeper line as more of that value."""

    def indent(text: str) -> int:
        return len(text) - len(text.lstrip(" "))

    above = (t for t in reversed(lines[:index]) if t.strip() and not t.lstrip().startswith("#"))
    previous = next(above, None)
    if index >= len(lines) or previous is None or indent(lines[index]) <= indent(previous):
        return False
    return not previous.split(" #")[0].rstrip().endswith((":", "-", "|", ">"))


def _tab_at(text: str, mark: yaml.Mark | None) -> bool:
    """True when the parser stopped at a tab (YAML indents with spaces only)."""
    if mark is None:
        return False
    lines = text.splitlines()
    return mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]


def read_document(path: Path, display: str, expected: FileIdentity | None = None) -> YamlDocument:
    """Read, decode and parse one spec file (``expected``'s file, when given: see
    ``read_bounded``); raises ``YamlProblem`` with a line when it can."""
    raw = read_bounded(path, expected)
    try:
        content, lines = parse_text(decode(raw))
    except YamlProblem as problem:
        problem.raw = raw
        raise
    return YamlDocument(path=path, display=display, raw=raw, content=content, lines=lines)
