"""A small PowerShell reader for the tests: the script split into code, strings and comments,
as PowerShell's tokenizer splits it (about_Quoting_Rules, about_Comments).

Enough to check what the tests check: blocks balanced in code, which commands the code calls,
where a spec value sits. The typographic single quotes (U+2018-U+201B) and double quotes
(U+201C-U+201E) count as quotes, as they do for PowerShell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SINGLE = frozenset("'\u2018\u2019\u201a\u201b")
DOUBLE = frozenset('"\u201c\u201d\u201e')
Kind = Literal["code", "single", "double", "comment"]
_PAIRS = {"}": "{", ")": "(", "]": "["}
# A command name is Verb-Noun; a parameter (-Name) or an operator (-eq) starts with the dash.
COMMAND = re.compile(r"(?<![\w$-])([A-Z][A-Za-z]+-[A-Za-z]+)\b")


@dataclass(frozen=True)
class Segment:
    kind: Kind
    text: str
    start: int

    @property
    def value(self) -> str:
        """A single-quoted string's value: the quotes off, each doubled quote made one."""
        assert self.kind == "single"
        inner, out, index = self.text[1:-1], [], 0
        while index < len(inner):
            out.append(inner[index])
            index += 2 if inner[index] in SINGLE else 1
        return "".join(out)


def segments(script: str) -> list[Segment]:
    """``script`` cut into code, single- and double-quoted strings and comments."""
    found: list[Segment] = []
    index, start, length = 0, 0, len(script)

    def close(kind: Kind, end: int) -> None:
        nonlocal start
        if end > start:
            found.append(Segment(kind, script[start:end], start))
        start = end

    while index < length:
        character = script[index]
        if script.startswith("<#", index):
            close("code", index)
            index = script.index("#>", index) + 2
            close("comment", index)
        elif character == "#":
            close("code", index)
            end = script.find("\n", index)
            index = length if end < 0 else end
            close("comment", index)
        elif character in SINGLE:
            close("code", index)
            index += 1
            while True:
                if script[index] in SINGLE:
                    if index + 1 < length and script[index + 1] in SINGLE:
                        index += 2
                        continue
                    index += 1
                    break
                index += 1
            close("single", index)
        elif character in DOUBLE:
            close("code", index)
            index += 1
            while script[index] not in DOUBLE:
                index += 2 if script[index] == "`" else 1
            index += 1
            close("double", index)
        else:
            index += 1
    close("code", length)
    return found


def unbalanced(script: str) -> list[str]:
    """Every bracket in the code that does not pair (empty when all are balanced)."""
    stack: list[str] = []
    problems: list[str] = []
    for segment in segments(script):
        if segment.kind != "code":
            continue
        for offset, character in enumerate(segment.text):
            if character in "{([":
                stack.append(character)
            elif character in _PAIRS and (not stack or stack.pop() != _PAIRS[character]):
                line = script.count("\n", 0, segment.start + offset) + 1
                problems.append(f"line {line}: unexpected {character}")
    problems += [f"{opener} never closed" for opener in stack]
    return problems


def commands(script: str) -> set[str]:
    """The Verb-Noun commands the code names."""
    return {
        match
        for segment in segments(script)
        if segment.kind == "code"
        for match in COMMAND.findall(segment.text)
    }


def defined_functions(script: str) -> set[str]:
    """The functions the script defines itself."""
    return set(re.findall(r"^\s*function\s+([A-Za-z]+-[A-Za-z]+)", script, re.MULTILINE))


_CHAR = re.compile(r"\[char\]0x([0-9A-F]{4})")


def _single_quoted(text: str, index: int) -> tuple[str, int]:
    """The value of the single-quoted string starting at ``index``, and the index after it."""
    assert text[index] in SINGLE, text[index:]
    out, index = [], index + 1
    while True:
        if text[index] in SINGLE:
            if index + 1 < len(text) and text[index + 1] in SINGLE:
                out.append(text[index])
                index += 2
                continue
            return "".join(out), index + 1
        out.append(text[index])
        index += 1


def string_expression(text: str, index: int = 0) -> tuple[str, int]:
    """The value of the string expression at ``index`` (a single-quoted string, or a
    parenthesised ``+`` of such strings and ``[char]0xNNNN`` terms, each a UTF-16 code unit),
    and the index after it. Anything else there fails an assertion."""
    if text[index] != "(":
        return _single_quoted(text, index)
    units: list[str] = []
    index += 1
    while True:
        if text[index] in SINGLE:
            value, index = _single_quoted(text, index)
            units.extend(value)
        else:
            found = _CHAR.match(text, index)
            assert found is not None, text[index:]
            units.append(chr(int(found[1], 16)))
            index = found.end()
        if text[index] == ")":
            joined = "".join(units)
            # Surrogate pairs written as two [char]s make one character again.
            return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le"), index + 1
        assert text.startswith(" + ", index), text[index:]
        index += 3


def assigned(script: str, variable: str) -> str:
    """The value the script's line ``$variable = <string expression>`` assigns."""
    found = re.search(rf"^\s*\${variable} = ", script, re.MULTILINE)
    assert found is not None, variable
    value, end = string_expression(script, found.end())
    assert script[end] in "\r\n", script[end:]
    return value
