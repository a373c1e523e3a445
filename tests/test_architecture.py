"""The domain stays pure: domain modules import the standard library and each other, nothing else."""

import ast
import sys
from pathlib import Path

from django.apps import apps

from eventstore import components, consumers

ROOT = Path(__file__).resolve().parent.parent
#: Every app of the project's own (the installed apps whose code is in this repository).
APPS = [config.name for config in apps.get_app_configs() if Path(config.path).parent == ROOT]
COMPONENTS = [component.name for component in components.installed()]

# Modules of the mechanics that domain code builds on, and the published language the components
# share (contracts/: the order's status); they are held to the same rule.
PURE_MECHANICS = {"eventstore.aggregate", "eventstore.codec", "eventstore", "contracts", "contracts.order_status"}


#: The modules every component has (docs/design.md section 9).
SHAPE = ("domain.py", "adapters.py", "bootstrap.py", "service.py", "reactions.py")


def domain_modules() -> list[Path]:
    """Every module named domain (or inside a domain package) in the apps, plus the pure mechanics."""
    found = []
    for app in APPS:
        if (ROOT / app).is_dir():
            found += [p for p in (ROOT / app).rglob("*.py") if "domain" in p.relative_to(ROOT).with_suffix("").parts]
    found += [ROOT / "eventstore" / "aggregate.py", ROOT / "eventstore" / "codec.py", ROOT / "tests" / "accounts.py"]
    found += list((ROOT / "contracts").glob("*.py"))
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


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports by absolute name."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_components_are_found_from_the_installed_apps_and_each_has_the_one_shape():
    assert {"orders", "billing", "shipping", "webhooks", "returns"} <= set(COMPONENTS)
    assert {"eventstore", "shopsite", "gateway", "readside", *COMPONENTS} <= set(APPS)
    modules = domain_modules()
    for component in COMPONENTS:
        assert ROOT / component / "domain.py" in modules, f"{component} has no domain module"
        missing = [m for m in SHAPE if not (ROOT / component / m).exists()]
        assert not missing, f"{component} lacks {missing} (docs/design.md section 9)"


def test_every_group_is_one_table_of_reactions_given_its_components_dependencies():
    for component in components.installed():
        for group in component.consumer_groups:
            assert isinstance(group.handler, consumers.Reactions), group.name
            assert set(group.event_types) == set(group.handler.table), group.name
            assert group.handler.dependencies.__module__ == f"{component.name}.bootstrap", group.name


def test_the_data_input_and_the_components_import_nothing_of_the_read_side():
    """The three steps (docs/design.md 1): the gateway stores what comes in and the components
    process it, whatever pages read the outcome; the read side may use both, not the other way."""
    crossings = {}
    for app in ["gateway", "eventstore", *COMPONENTS]:
        for path in (ROOT / app).rglob("*.py"):
            found = [n for n in imported_modules(path) if n.split(".")[0] == "readside"]
            if found:
                crossings[str(path.relative_to(ROOT))] = found
    assert crossings == {}


def test_no_component_imports_another_and_the_mechanics_import_no_component():
    crossings = {}
    for app in COMPONENTS:
        for path in (ROOT / app).rglob("*.py"):
            others = [n for n in imported_modules(path) if n.split(".")[0] in set(COMPONENTS) - {app}]
            if others:
                crossings[str(path.relative_to(ROOT))] = others
    for path in (ROOT / "eventstore").rglob("*.py"):
        found = [n for n in imported_modules(path) if n.split(".")[0] in COMPONENTS]
        if found:
            crossings[str(path.relative_to(ROOT))] = found
    assert crossings == {}


def test_the_models_moved_out_of_shopsite_keep_their_tables():
    """The data input's and the read side's models moved by state only (docs/decisions.md)."""
    moved = [*apps.get_app_config("gateway").get_models(), *apps.get_app_config("readside").get_models()]
    tables = {model.__name__: model._meta.db_table for model in moved}
    assert tables == {
        "Partner": "shopsite_partner",
        "PartnerAPIKey": "shopsite_partnerapikey",
        "IdempotencyRecord": "shopsite_idempotencyrecord",
        "MessageOutcome": "shopsite_messageoutcome",
        "Product": "shopsite_product",
    }
    assert list(apps.get_app_config("shopsite").get_models()) == []
