"""docs/reliability.md names, for every row of the reliability and security plan (R1-R28, S1-S20),
the tests that show it holds. This keeps the map true: every row is there, and every test it names
exists."""

import importlib
import re
from pathlib import Path

MAP = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
ROWS = {f"R{n}" for n in range(1, 29)} | {f"S{n}" for n in range(1, 21)}
ROW = re.compile(r"^\| ([RS]\d+) \|")
NODE = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")


def mapped() -> dict[str, list[tuple[str, str]]]:
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in MAP.read_text().splitlines():
        if row := ROW.match(line):
            rows.setdefault(row.group(1), []).extend(NODE.findall(line))
    return rows


def test_every_row_of_the_plan_names_at_least_one_test():
    rows = mapped()
    assert set(rows) == ROWS, f"missing: {sorted(ROWS - set(rows))}; unknown: {sorted(set(rows) - ROWS)}"
    assert not [row for row, nodes in rows.items() if not nodes]


def test_every_test_the_map_names_exists():
    missing = []
    for nodes in mapped().values():
        for path, name in nodes:
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            target = module
            for part in name.split("::"):
                target = getattr(target, part, None)
            if not callable(target):
                missing.append(f"{path}::{name}")
    assert not missing, missing
