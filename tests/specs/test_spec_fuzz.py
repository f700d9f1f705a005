"""Whatever bytes a spec file holds, loading ends in a SpecSet or a SpecError that names the
file: never another exception, a hang or a memory blow-up."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from spec_files import HQ_2010, INVENTORY

from lmctl.specs import SpecError, load_specs

YAML_PIECES = st.sampled_from(
    [
        "name: ", "site: ", "members:\n", "  - ", "{", "}", "[", "]", ", ", ": ", "\n", "  ",
        "&a ", "*a", "<<: ", "!!str ", "!!python/none ", "---\n", "'", '"', "#", "- ", "? ",
        "10.10.1.50", "2010 SP3", "rpc_ports: ", "overrides: ", "https", "rpc", "null", "~",
        "yes", "0x1F", "1e9", "\t", "\u00fc", "|", ">", "%YAML 1.1\n",
    ]
)  # fmt: skip


def load_one(content: bytes) -> None:
    """Load ``content`` as a spec next to a valid inventory; only SpecError may escape."""
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        (directory / "appliances.yaml").write_text(INVENTORY)
        (directory / "spec.yaml").write_bytes(content)
        try:
            load_specs([directory])
        except SpecError as error:
            assert error.errors
            assert all(d.file.endswith(("spec.yaml", "appliances.yaml")) for d in error.errors)


@settings(max_examples=150, deadline=None)
@given(st.lists(YAML_PIECES, max_size=40).map("".join))
def test_yaml_like_text_never_escapes_as_another_exception(text: str) -> None:
    load_one(text.encode("utf-8"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_another_exception(content: bytes) -> None:
    load_one(content)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(HQ_2010)), st.text(max_size=8))
def test_a_valid_spec_with_text_spliced_in_never_escapes(position: int, splice: str) -> None:
    load_one((HQ_2010[:position] + splice + HQ_2010[position:]).encode("utf-8"))
