"""``lmctl status --format prometheus``: the text exposition format
(https://prometheus.io/docs/instrumenting/exposition_formats/), read back by a strict parser
written here from that page (prometheus_client is not a dependency of lmctl)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from lmctl.mock.control import MockControl
from lmctl.status.conditions import unreadable_array_status
from lmctl.status.prometheus import render_prometheus
from status_testkit import MEMBERS, RunLmctl, prepare_arrays

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_VALUE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[+-]Inf")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    help: str
    type: str
    samples: dict[Labels, float] = field(default_factory=dict)


def _labels(text: str, at: int) -> tuple[Labels, int]:
    """The ``{...}`` starting at ``text[at]``: its labels and the index after ``}``."""
    assert text[at] == "{"
    at += 1
    labels: list[tuple[str, str]] = []
    while text[at] != "}":
        name = _LABEL_NAME.match(text, at)
        assert name is not None, f"bad label name at {at}: {text!r}"
        at = name.end()
        assert text[at : at + 2] == '="', text
        at += 2
        value = ""
        while text[at] != '"':
            if text[at] == "\\":
                # Only \\, \" and \n are escapes in a label value.
                value += _ESCAPES[text[at + 1]]
                at += 2
            else:
                assert text[at] != "\n"
                value += text[at]
                at += 1
        labels.append((name.group(), value))
        at += 1
        if text[at] == ",":
            at += 1
    names = [name for name, _ in labels]
    assert len(names) == len(set(names)), f"a label given twice: {text!r}"
    return tuple(labels), at + 1


def parse(exposition: str) -> dict[str, Family]:
    """Every family, strictly: HELP then TYPE before the samples of each, one block per
    family, no sample given twice, the last line ended by a line feed."""
    assert exposition.endswith("\n")
    families: dict[str, Family] = {}
    current: str | None = None
    pending_help: tuple[str, str] | None = None
    for line in exposition[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, text = line[len("# HELP ") :].partition(" ")
            assert _NAME.fullmatch(name) and name not in families, line
            assert re.search(r"\\[^\\n]", text) is None, line
            pending_help = (name, text.replace("\\n", "\n").replace("\\\\", "\\"))
        elif line.startswith("# TYPE "):
            name, kind = line[len("# TYPE ") :].split(" ")
            assert pending_help is not None and pending_help[0] == name, line
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped")
            families[name] = Family(pending_help[1], kind)
            current, pending_help = name, None
        else:
            match = _NAME.match(line)
            assert match is not None and match.group() == current, f"stray sample: {line!r}"
            labels, at = _labels(line, match.end()) if line[match.end()] == "{" else ((), 0)
            assert line[at] == " ", line
            value = line[at + 1 :]
            assert _VALUE.fullmatch(value), line
            samples = families[current].samples
            assert labels not in samples, f"sample given twice: {line!r}"
            samples[labels] = float(value)
    return families


@pytest.fixture
def run_lmctl(request: pytest.FixtureRequest) -> RunLmctl:
    """lmctl against arrays ``two`` and ``three`` created on the served mock (APIv2)."""
    return prepare_arrays(request, "v2")


def _value(family: Family, **wanted: str) -> float:
    (value,) = [v for labels, v in family.samples.items() if wanted.items() <= dict(labels).items()]
    return value


def test_prometheus_metrics_of_members_services_and_arrays(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.mark(MEMBERS["CAS-A2"], "Down")
    mock_control.set_connections(MEMBERS["EX-B1"], 7, port=443)

    outcome = run_lmctl("status", "--format", "prometheus")

    assert outcome.exit_code == 2, outcome.stderr  # degraded, as with every format
    families = parse(outcome.stdout)
    assert all(family.type == "gauge" and family.help for family in families.values())
    member_up = families["lmctl_member_up"]
    assert _value(member_up, array="two", service="rpc", member="CAS-A2") == 0
    assert _value(member_up, array="two", service="rpc", member="CAS-A1") == 1
    labels = next(iter(member_up.samples))
    assert [name for name, _ in labels] == ["appliance", "array", "service", "member", "address"]
    assert dict(labels)["appliance"] == "lm-test"
    connections = families["lmctl_member_active_connections"]
    assert _value(connections, array="three", service="https", member="EX-B1") == 7
    assert _value(families["lmctl_service_up"], array="two", service="https") == 1
    assert _value(families["lmctl_service_failover_ready"], array="two", service="https") == 0
    ready = families["lmctl_array_failover_ready"]
    assert (_value(ready, array="two"), _value(ready, array="three")) == (0, 1)
    condition = families["lmctl_array_condition"]
    assert _value(condition, array="two", condition="Healthy", status="False") == 1
    assert _value(condition, array="two", condition="Healthy", status="True") == 0
    assert _value(families["lmctl_array_readable"], array="three") == 1
    # Arrays in the specs' order (three.yaml, two.yaml), services in profile order.
    services = [dict(labels) for labels in families["lmctl_service_up"].samples]
    assert [(s["array"], s["service"]) for s in services] == [
        ("three", "https"),
        ("three", "http-redirect"),
        ("two", "rpc"),
        ("two", "https"),
        ("two", "http-redirect"),
    ]


def test_prometheus_refuses_watch(run_lmctl: RunLmctl) -> None:
    outcome = run_lmctl("status", "--format", "prometheus", "--watch")

    assert outcome.exit_code == 64
    assert "--format prometheus prints one scrape" in outcome.output


def test_label_values_are_escaped_as_the_format_says() -> None:
    hostile = 'a\\b"c\nd\x1be'
    arrays = [unreadable_array_status(hostile, 'lm"1', "no route")]

    families = parse(render_prometheus(arrays))

    (labels,) = families["lmctl_array_readable"].samples
    # The escape character is shown, not sent: lmctl.text escapes it before the format does.
    assert dict(labels) == {"appliance": 'lm"1', "array": 'a\\b"c\nd\\x1be'}
    assert families["lmctl_array_readable"].samples[labels] == 0
    assert "lmctl_member_up" in families and not families["lmctl_member_up"].samples
