"""The domain stays pure: domain modules import the standard library and each other, nothing else."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["eventstore", "shopsite", "orders", "billing", "shipping", "webhooks"]

# Modules of the mechanics that domain code builds on, and the order's published status (which
# the webhooks' domain follows); they are held to the same rule.
PURE_MECHANICS = {"eventstore.aggregate", "eventstore.codec", "eventstore", "orders.status"}


def domain_modules() -> list[Path]:
    """Every module named domain (or inside a domain package) in the apps, plus the pure mechanics."""
    found = []
    for app in APPS:
        if (ROOT / app).is_dir():
            found += [p for p in (ROOT / app).rglob("*.py") if "domain" in p.relative_to(ROOT).with_suffix("").parts]
    found += [ROOT / "eventstore" / "aggregate.py", ROOT / "eventstore" / "codec.py", ROOT / "tests" / "accounts.py"]
    found += [ROOT / "orders" / "status.py"]
    return found


def foreign_imports(source: str) -> list[str]:
    """Imported modules that are neither the standard library nor other pure modules."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if name in PURE_MECHANICS or name.endswith(".domain") or ".domain." in name or name == "tests.accounts":
                continue
            bad.append(name)
    return bad


def test_the_rule_catches_framework_imports():
    assert foreign_imports("import django\nfrom rest_framework import views\nfrom celery import shared_task") == [
        "django",
        "rest_framework",
        "celery",
    ]
    assert foreign_imports("from decimal import Decimal\nfrom eventstore.aggregate import Aggregate") == []
    assert foreign_imports("from eventstore.store import EventStore") == ["eventstore.store"]


def test_domain_modules_import_only_the_standard_library_and_pure_modules():
    modules = domain_modules()
    assert ROOT / "eventstore" / "aggregate.py" in modules
    offenders = {str(p.relative_to(ROOT)): foreign_imports(p.read_text()) for p in modules}
    assert {path: names for path, names in offenders.items() if names} == {}
