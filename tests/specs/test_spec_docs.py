"""The YAML examples in docs/specs.md are valid specs."""

from __future__ import annotations

import re
from pathlib import Path

from spec_files import write_files

from lmctl.exchange import expand_all
from lmctl.specs import load_specs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "specs.md"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def test_the_documented_array_and_inventory_validate_together(tmp_path: Path) -> None:
    blocks = YAML_BLOCK.findall(DOCS.read_text(encoding="utf-8"))
    array = next(
        b for b in blocks if b.lstrip("#").strip().startswith("yaml-language") and "name:" in b
    )
    inventory = next(b for b in blocks if "appliances:" in b)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    write_files(tmp_path, {"appliances.yaml": inventory, "hq-cas.yaml": array})

    spec_set = load_specs([tmp_path])

    assert [a.name for a in spec_set.arrays] == ["hq-cas"]
    assert list(spec_set.inventory.appliances) == ["lm-hq", "lm-dc1", "lm-dc2"]
    assert [str(vs.key) for vs in expand_all(spec_set)["lm-hq"]] == [
        "10.10.1.50:135/tcp",
        "10.10.1.50:443/tcp",
        "10.10.1.50:80/tcp",
        "10.10.1.50:993/tcp",
    ]
