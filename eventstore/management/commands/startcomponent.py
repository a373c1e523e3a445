"""`python manage.py startcomponent NAME`: a working empty component, in the one shape.

It writes the app NAME/ (domain, adapters, bootstrap, service, reactions with its consumer group,
models and a projector, admin, apps, the first migration) and two tests, tests/test_NAME_domain.py
(given/when/then, no database) and tests/test_NAME_in_process.py (a message through the gateway,
handled, projected, its outcome processed). Adding "NAME" to INSTALLED_APPS is the only wiring;
then `make test` passes as written. docs/design.md, "Adding a component", goes on from there.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import subprocess
import sys
from pathlib import Path
from string import Template

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

TEMPLATES = Path(__file__).resolve().parents[2] / "scaffold"
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class Command(BaseCommand):
    help = "Write a working empty component NAME (an app and its tests) in the component shape."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the app's name, a plural: returns, loyalty_points")
        parser.add_argument(
            "--stream",
            help="the category of its streams ({stream}-{order_id}) and the `applies` of its messages "
            "(default: NAME without its final s)",
        )
        parser.add_argument("--directory", default=str(settings.BASE_DIR), help="the project's root")

    def handle(self, *args, name: str, stream: str | None, directory: str, **options) -> None:
        stream = stream or (name[:-1] if name.endswith("s") else name)
        if not NAME.match(name) or keyword.iskeyword(name):
            raise CommandError(f"NAME {name!r} must be a lower-case Python name, not a keyword.")
        if not NAME.match(stream):  # a stream's category may be a keyword: "return"
            raise CommandError(f"--stream {stream!r} must be a lower-case Python name.")
        root = Path(directory)
        files = planned(root, name=name, stream=stream)
        if existing := [str(path.relative_to(root)) for path in files if path.exists()]:
            raise CommandError(f"Not overwriting {', '.join(existing)}.")
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            self.stdout.write(f"wrote {path.relative_to(root)}")
        tidy([str(path) for path in files])
        self.stdout.write(
            self.style.SUCCESS(f'Now add "{name}" to INSTALLED_APPS in shopsite/settings.py; then `make test`.')
        )


def planned(root: Path, *, name: str, stream: str) -> dict[Path, str]:
    """Every file to write, by its path, with the names filled in."""
    thing = stream
    names = {
        "app": name,
        "stream": stream,
        "thing": thing,
        "Thing": camel(thing),
        "Camel": camel(name),
    }
    files = {}
    for template in sorted((TEMPLATES / "component").rglob("*.py-tpl")):
        relative = template.relative_to(TEMPLATES / "component").with_suffix(".py")
        files[root / name / relative] = Template(template.read_text()).substitute(names)
    for template in sorted((TEMPLATES / "tests").glob("*.py-tpl")):
        files[root / "tests" / f"test_{name}_{template.stem.removeprefix('test_')}.py"] = Template(
            template.read_text()
        ).substitute(names)
    return files


def tidy(paths: list[str]) -> None:
    """Sort the imports and format the files written, as the project's linter wants them (the app's
    name decides where its imports sort), when ruff is installed; as Django's startapp runs black."""
    if importlib.util.find_spec("ruff") is None:
        return
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", "--fix", "--select", "I", "--quiet", *paths], check=True)
    subprocess.run([*ruff, "format", "--quiet", *paths], check=True)


def camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
