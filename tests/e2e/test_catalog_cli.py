"""`bestnext catalog check FILE` as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from bestnext.settings import DEMO_CONFIG_DIR
from tests.support.server import BIN


def check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), "catalog", "check", str(path), *extra], capture_output=True, text=True,
                          timeout=120)


def test_demo_catalog_is_valid() -> None:
    done = check(DEMO_CONFIG_DIR / "catalog.yaml", "--json")
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == {"valid": True, "version": "2025.1", "actions": 10, "offers": 3}


def test_errors_name_line_and_field(tmp_path: Path) -> None:
    text = (DEMO_CONFIG_DIR / "catalog.yaml").read_text()
    broken = text.replace("purpose: marketing\n    product: prepaid_card", "purpose: sales\n    product: prepaid_card")
    broken = broken.replace('{field: age, op: ">=", value: 18}', '{field: age, op: "≥", value: 18}', 1)
    (tmp_path / "products.yaml").write_text((DEMO_CONFIG_DIR / "products.yaml").read_text())
    path = tmp_path / "catalog.yaml"
    path.write_text(broken)
    done = check(path)
    assert done.returncode == 1
    line = broken[:broken.index("purpose: sales")].count("\n") + 1
    assert f"line {line}: actions[offer_prepaid_card].purpose:" in done.stderr
    rule_line = broken[:broken.index('op: "≥"')].count("\n") + 1
    assert f"line {rule_line}: actions[offer_prepaid_card].eligibility" in done.stderr
    as_json = orjson.loads(check(path, "--json").stdout)
    assert as_json["valid"] is False and {e["line"] for e in as_json["errors"]} >= {line, rule_line}
