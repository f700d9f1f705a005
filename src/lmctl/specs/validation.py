"""Validating spec content into models, and saying what is wrong in the words of someone
writing the spec, at file:line.

Every spec model is a ``SpecModel``: frozen, and an unknown key is an error (typos are never
ignored). ``validate`` turns each of pydantic's errors into a ``Diagnostic`` located in the YAML
document: what was expected, what was written (never a value that may be a secret), the allowed
keys and values, and the field's own description.
"""

from __future__ import annotations

import datetime
import difflib
import re
import types
import typing
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from lmctl.releases import VIRTUAL_DIRECTORIES
from lmctl.specs.source import Diagnostic, YamlDocument
from lmctl.text import did_you_mean, excerpt


class SpecModel(BaseModel):
    """A part of an array spec or of the inventory, as read from YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_Model = TypeVar("_Model", bound=SpecModel)

_TYPE_NAMES = {
    datetime.date: "a date",
    datetime.datetime: "a date and time",
    dict: "a mapping",
    list: "a list",
    str: "text",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "nothing (null)",
}
_NUMBER_ERRORS = frozenset(
    {
        "int_parsing",
        "int_type",
        "int_from_float",
        "less_than_equal",
        "greater_than_equal",
        "less_than",
        "greater_than",
    }
)
_KEY_MARK = "[key]"
_HIDDEN = "the value"
# The pydantic error type of a secret written in the file; the message with its suggestion is
# built here, where the appliance name and the field are known.
SECRET_IN_FILE = "secret_in_file"  # noqa: S105 (an error type, not a secret)


def validate(
    model: type[_Model], document: YamlDocument, context: dict[str, object] | None = None
) -> _Model | list[Diagnostic]:
    """``document``'s content as a ``model``, or one error diagnostic per problem in it."""
    try:
        return model.model_validate(document.content, context=context)
    except ValidationError as error:
        return _diagnostics_from(error, document, model)


def _diagnostics_from(
    error: ValidationError, document: YamlDocument, model: type[BaseModel]
) -> list[Diagnostic]:
    """One error diagnostic per pydantic error, located in the YAML document. A required key
    that is missing because it was mistyped is reported once, at the typo ("did you mean")."""
    details = error.errors(include_url=False)
    mistyped = {
        (*detail["loc"][:-1], suggested)
        for detail in details
        if detail["type"] == "extra_forbidden"
        and (suggested := _suggestion(_last_name(detail["loc"]), model, detail["loc"][:-1]))
    }
    found = []
    for detail in details:
        if _is_echo(detail) or (detail["type"] == "missing" and detail["loc"] in mistyped):
            continue
        location = tuple(p for p in detail["loc"] if p != _KEY_MARK)
        found.append(document.diagnostic("error", location, _message(detail, model)))
    return found


def _is_echo(detail: ErrorDetails) -> bool:
    """A length error that only repeats item errors (pydantic counts the valid items only)."""
    value = detail.get("input")
    return detail["type"] == "too_short" and isinstance(value, list | tuple) and len(value) > 0


def _message(detail: ErrorDetails, model: type[BaseModel]) -> str:
    """What is wrong at one pydantic error, in the words of someone writing the spec."""
    for describe in (_key_message, _rule_message, _type_message, _empty_list_message):
        message = describe(detail, model)
        if message is not None:
            return message
    return _pydantic_message(detail)


def _last_name(loc: Sequence[str | int]) -> str:
    """The innermost key of ``loc`` ('' at the top of the document)."""
    names = [p for p in loc if isinstance(p, str) and p != _KEY_MARK]
    return names[-1] if names else ""


def _key_message(detail: ErrorDetails, model: type[BaseModel]) -> str | None:
    """A key that is missing, unknown or not allowed as a name (None for a value's error)."""
    kind, loc = detail["type"], detail["loc"]
    last = _last_name(loc)
    if kind == "missing":
        described = _description(model, loc)
        return f"required key '{last}' is missing" + (
            f": {_sentence(described)}" if described else ""
        )
    if kind == "extra_forbidden":
        return _unknown_key(last, _model_at(model, loc[:-1]))
    if _KEY_MARK in loc and kind == "string_pattern_mismatch":
        # The only names checked by pattern are appliance names (the inventory's keys).
        return (
            f"'{excerpt(last)}' is not allowed as a name: use letters, digits, '.', '_' and '-' "
            "(at most 63, starting with a letter or digit), e.g. lm-hq"
        )
    if _KEY_MARK in loc:
        hint = _did_you_mean(last, _choices(detail))
        return f"'{excerpt(last)}' is not allowed as a key here{hint}; " + _expected(detail)
    return None


def _rule_message(detail: ErrorDetails, model: type[BaseModel]) -> str | None:
    """A value of the right type that a rule of the spec rejects (None for other errors)."""
    kind, loc = detail["type"], detail["loc"]
    if kind == "literal_error":
        value = detail.get("input")
        hint = _did_you_mean(value, _choices(detail)) if isinstance(value, str) else ""
        return f"{_shown_input(detail)} is not allowed{hint}; {_expected(detail)}"
    if kind == SECRET_IN_FILE:
        return _secret_in_file(loc)
    if kind in {"value_error", "assertion_error"}:
        return str(detail["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch":
        described = _description(model, loc)
        return f"{_shown_input(detail)} is not allowed" + (f": {described}" if described else "")
    return None


def _type_message(detail: ErrorDetails, model: type[BaseModel]) -> str | None:
    """A value of the wrong type: what was expected and what was written (None otherwise)."""
    kind = detail["type"]
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return f"expected a mapping (key: value lines), got {_type_name(detail['input'])}"
    if kind == "string_type":
        return _expected_text(detail)
    if kind in _NUMBER_ERRORS:
        number_range = _number_range(model, detail["loc"])
        return f"expected a whole number{number_range} (got {_shown_input(detail)})"
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false (got {_shown_input(detail)})"
    if kind in {"tuple_type", "list_type"}:
        return f"expected a list, got {_type_name(detail['input'])}"
    return None


def _empty_list_message(detail: ErrorDetails, model: type[BaseModel]) -> str | None:
    """An empty members:, services: or directories: list, with what to write instead (None
    otherwise)."""
    if detail["type"] != "too_short":
        return None
    last = _last_name(detail["loc"])
    if last == "members":
        return "an array needs at least one member"
    if last == "services":
        return (
            "the list is empty: name at least one service, or remove services: to publish "
            "the version's defaults"
        )
    if last == "directories":
        return (
            "the list is empty: name at least one virtual directory ("
            + ", ".join(VIRTUAL_DIRECTORIES)
            + "), or remove directories: to publish them all"
        )
    return None


def _pydantic_message(detail: ErrorDetails) -> str:
    """Pydantic's own message, as the tail of a sentence, with the value unless it is hidden."""
    message = str(detail["msg"])
    shown = _shown_input(detail)
    return f"{message[0].lower()}{message[1:]}" + (f" (got {shown})" if shown != _HIDDEN else "")


def _secret_in_file(loc: Sequence[str | int]) -> str:
    """The suggestion for ``appliances.<name>.auth.<field>``, from that name and field."""
    match list(loc):
        case ["appliances", str(appliance), "auth", str(field), *_]:
            return _secret_hint(appliance, field)
        case _:
            return (
                "a secret must not be written in the inventory; write {env: VARIABLE} or "
                "{keyring: {service: lmctl, username: NAME}} instead"
            )


def _secret_hint(appliance: str, field: str) -> str:
    """What to write instead of a secret at ``appliances.<appliance>.auth.<field>``."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", appliance).strip("_").upper()
    # lm-dc1 → LM_DC1_..., not LM_LM_DC1_...
    prefix = stem if stem.startswith("LM_") or stem == "LM" else f"LM_{stem}"
    variable = f"{prefix}_{field.upper()}"
    return (
        "a secret must not be written in the inventory; name where lmctl finds it: "
        f"{{env: {variable}}} (an environment variable) or "
        f"{{keyring: {{service: lmctl, username: {appliance}}}}} (the OS keyring)"
    )


def _expected_text(detail: ErrorDetails) -> str:
    value = detail["input"]
    if isinstance(value, dict | list):
        return f"expected text, got {_type_name(value)}"
    shown = "" if "auth" in detail["loc"] else f" ({excerpt(str(value))})"
    return (
        f"expected text, got {_type_name(value)}{shown}; "
        "put the value in quotes if it is meant as text"
    )


def _number_range(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    """`` from 1 to 65530`` for a field declared with ge/le bounds ('' when it has none)."""
    info = _field_info(model, loc)
    if info is None:
        return ""
    bounds: dict[str, object] = {}
    for meta in [*info.metadata, *_annotated_metadata(info.annotation)]:
        for bound in ("ge", "le"):
            if getattr(meta, bound, None) is not None:
                bounds[bound] = getattr(meta, bound)
    if "ge" in bounds and "le" in bounds:
        return f" from {bounds['ge']} to {bounds['le']}"
    return ""


def _annotated_metadata(annotation: Any) -> list[Any]:
    """The metadata of ``Annotated[...]`` inside ``annotation`` (also under ``| None``),
    with a nested ``Field(...)`` opened up into its own metadata."""
    found: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is typing.Annotated:
            for meta in typing.get_args(annotation)[1:]:
                found.extend(getattr(meta, "metadata", [meta]))
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType) and len(args) == 1:
            annotation = args[0]
        else:
            return found


def _expected(detail: ErrorDetails) -> str:
    expected = (detail.get("ctx") or {}).get("expected")
    if expected:
        return f"allowed: {expected}"
    return str(detail["msg"])


def _shown_input(detail: ErrorDetails) -> str:
    # Anything under auth: may be a secret written by mistake: never echo it.
    if "auth" in detail["loc"]:
        return _HIDDEN
    value = detail.get("input")
    if isinstance(value, dict | list):
        return _type_name(value)
    # Only an excerpt, escaped: the file may be anything a link pointed at.
    return f"'{excerpt(value)}'" if isinstance(value, str) else excerpt(repr(value))


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _suggestion(key: str, model: type[BaseModel], parent: Sequence[str | int]) -> str | None:
    """The allowed key closest to an unknown ``key`` under ``parent``, if one is close."""
    at = _model_at(model, parent)
    if at is None:
        return None
    close = difflib.get_close_matches(key, list(at.model_fields), n=1)
    return close[0] if close else None


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'https'?)`` for the choice closest to a mistyped ``word``, if one is
    close ('' otherwise): for keys and for values from a fixed list (services, dialects)."""
    return did_you_mean(word, choices)


def _choices(detail: ErrorDetails) -> list[str]:
    """The allowed values a literal error lists (``'rpc', 'https' or 'smtp'``)."""
    return re.findall(r"'([^']*)'", str((detail.get("ctx") or {}).get("expected", "")))


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return f"unknown key '{excerpt(key)}'"
    hint = _did_you_mean(key, list(model.model_fields))
    return f"unknown key '{excerpt(key)}'{hint}; allowed keys here: {', '.join(model.model_fields)}"


def _field_info(model: type[BaseModel], loc: Sequence[str | int]) -> FieldInfo | None:
    """The declaration of the field at ``loc`` (None when ``loc`` is not a model field)."""
    parent = _model_at(model, loc[:-1])
    name = loc[-1] if loc else None
    if parent is None or not isinstance(name, str) or name not in parent.model_fields:
        return None
    return parent.model_fields[name]


def _description(model: type[BaseModel], loc: Sequence[str | int]) -> str | None:
    info = _field_info(model, loc)
    if info is None:
        return None
    if info.description:
        return info.description
    for meta in info.metadata:
        pattern = getattr(meta, "pattern", None)
        if pattern:
            return f"must match {pattern}"
    return None


def _sentence(description: str) -> str:
    """A field description as the tail of a message: ``Virtual IP.`` → ``virtual IP``."""
    return description[:1].lower() + description[1:].rstrip(".")


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc`` (None when it is not a model)."""
    current: Any = model
    for part in loc:
        if part == _KEY_MARK:
            return None
        origin, args = typing.get_origin(current), typing.get_args(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = _strip(current.model_fields[part].annotation)
        elif origin in (tuple, list) and args:
            current = _strip(args[0])
        elif origin is dict and len(args) == 2:
            current = _strip(args[1])
        else:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _strip(annotation: Any) -> Any:
    """``X`` from ``X | None`` and ``Annotated[X, ...]``."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is typing.Annotated or (
            origin in (typing.Union, types.UnionType) and len(args) == 1
        ):
            annotation = args[0]
        else:
            return annotation
