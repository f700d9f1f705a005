"""Hostile and odd files: alias bombs, empty, non-UTF-8 and huge files, missing paths.

Each must end quickly with exit code 1 and a message naming the file (and line when there is
one), never a traceback, a hang or a memory blow-up.
"""

from __future__ import annotations

import os
from pathlib import Path

from spec_files import HQ_2010, reported, run_lmctl

from lmctl.specs.source import MAX_FILE_BYTES, MAX_VALUES, YamlProblem, parse_text

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_alias_bomb_is_refused_with_the_line_it_explodes_on(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"bomb.yaml": BILLION_LAUGHS})

    assert outcome.exit_code == 1
    assert reported(outcome, "bomb.yaml", 5, "e", f"expands to more than {MAX_VALUES} values")


def test_empty_file(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"empty.yaml": ""})

    assert outcome.exit_code == 1
    assert reported(outcome, "empty.yaml", 1, "", "the file is empty: expected an array spec")


def test_file_of_only_comments_is_empty(tmp_path: Path) -> None:
    outcome = run_lmctl(
        tmp_path / "arrays", {"notes.yaml": "# hq-cas: to be written\n\n# ask the Exchange team\n"}
    )

    assert outcome.exit_code == 1
    assert reported(outcome, "notes.yaml", 1, "", "the file is empty")


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    latin1 = HQ_2010.replace("site: HQ", "site: Zürich").encode("latin-1")

    outcome = run_lmctl(tmp_path / "arrays", {"zurich.yaml": latin1})

    assert outcome.exit_code == 1
    assert reported(outcome, "zurich.yaml", 2, "", "not UTF-8 text (byte 0xfc at offset 20)")


def test_utf16_file_is_refused(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": HQ_2010.encode("utf-16")})

    assert outcome.exit_code == 1
    assert reported(outcome, "hq.yaml", 1, "", "not UTF-8 text")


def test_utf8_with_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": b"\xef\xbb\xbf" + HQ_2010.encode("utf-8")})

    assert outcome.exit_code == 0, outcome.output
    assert "valid: 1 array, 2 appliances in 2 files" in outcome.output


def test_ten_megabyte_file_is_refused_before_parsing(tmp_path: Path) -> None:
    huge = HQ_2010 + "# padding\n" + ("#" * 99 + "\n") * 100_000

    outcome = run_lmctl(tmp_path / "arrays", {"huge.yaml": huge})

    assert outcome.exit_code == 1
    assert reported(outcome, "huge.yaml", None, "", "the file is 10.0 MB; lmctl reads spec files")
    assert "1024 KiB (1 MiB)" in outcome.output


def test_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    padding = MAX_FILE_BYTES - len(HQ_2010) - 100
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": HQ_2010 + "#" * padding + "\n"})

    assert outcome.exit_code == 0, outcome.output[-300:]


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"

    outcome = run_lmctl(tmp_path / "arrays", {}, "validate", str(missing))

    assert outcome.exit_code == 1
    assert f"{missing}: error: no such file or directory" in outcome.output


def test_a_fifo_named_on_the_command_line_is_never_read(tmp_path: Path) -> None:
    """(A directory scan: tests/specs/test_spec_file_kinds.py.)"""
    fifo = tmp_path / "arrays" / "fifo.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)

    outcome = run_lmctl(tmp_path / "arrays", {}, "validate", str(fifo))

    assert outcome.exit_code == 1
    assert f"{fifo}: error: not a regular file" in outcome.output


def test_directory_without_yaml_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    outcome = run_lmctl(tmp_path / "arrays", {}, "validate", str(empty))

    assert outcome.exit_code == 1
    assert f"{empty}: error: no *.yaml or *.yml files here" in outcome.output


def test_parse_text_reports_duplicate_and_first_line() -> None:
    try:
        parse_text("name: a\nsite: b\nname: c\n")
    except YamlProblem as problem:
        assert problem.line == 3
        assert problem.message.startswith("duplicate key 'name' (first given on line 1)")
    else:
        raise AssertionError("a duplicate key was accepted")


def test_parse_text_records_lines_of_keys_and_items() -> None:
    content, lines = parse_text("name: a\nmembers:\n  - name: X\n    address: 1.2.3.4\n")

    assert content == {"name": "a", "members": [{"name": "X", "address": "1.2.3.4"}]}
    assert lines[("members",)] == 2
    assert lines[("members", 0)] == 3
    assert lines[("members", 0, "address")] == 4


def test_keys_stay_as_written() -> None:
    content, _ = parse_text("on: 1\n1000: 2\n")

    assert content == {"on": 1, "1000": 2}
