"""`manage.py startcomponent`: the component it writes works as written.

In a copy of the project: the command writes `widgets`, the one line of settings installs it, and
then the linter, the migrations check and the tests that read the registries (the architecture,
the site's queues, the admin's read models, the rebuild) pass with the new component's own tests.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

#: The tests that read what is installed, run beside the new component's own tests.
REGISTRY_TESTS = ["tests/test_architecture.py", "tests/test_site.py", "tests/test_admin_read_models.py"]


def copy_of_the_project(to: Path) -> Path:
    ignored = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite3", ".pytest_cache", ".ruff_cache")
    return Path(shutil.copytree(settings.BASE_DIR, to / "project", ignore=ignored))


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_a_new_component_passes_the_tests_once_installed_by_one_line(tmp_path):
    project = copy_of_the_project(tmp_path)
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    python = [sys.executable]
    written = run([*python, "manage.py", "startcomponent", "widgets"], cwd=project, env=env)
    assert 'add "widgets" to INSTALLED_APPS' in written
    names = {path.name for path in (project / "widgets").iterdir()}
    expected = {"apps.py", "domain.py", "adapters.py", "bootstrap.py", "service.py", "reactions.py"}
    assert expected | {"models.py", "projections.py", "admin.py", "migrations"} <= names

    settings_file = project / "shopsite" / "settings.py"
    text = settings_file.read_text()
    start = text.index("INSTALLED_APPS = [\n")
    end = text.index("\n]\n", start)  # the list's last line, then the one line of wiring
    settings_file.write_text(f'{text[:end]}\n    "widgets",{text[end:]}')

    run([*python, "-m", "ruff", "check", "--quiet", "."], cwd=project, env=env)
    run([*python, "-m", "ruff", "format", "--check", "--quiet", "."], cwd=project, env=env)
    run([*python, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=project, env=env)
    new_tests = ["tests/test_widgets_domain.py", "tests/test_widgets_in_process.py"]
    pytest = [*python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    ran = run([*pytest, *new_tests, *REGISTRY_TESTS], cwd=project, env=env)  # exit 0: every one passed
    assert " passed" in ran, ran


def test_it_refuses_a_name_that_is_not_a_python_name_and_never_overwrites(tmp_path):
    with pytest.raises(CommandError, match="lower-case Python name"):
        call_command("startcomponent", "Bad-Name", directory=str(tmp_path))
    with pytest.raises(CommandError, match="not a keyword"):
        call_command("startcomponent", "class", directory=str(tmp_path))
    with pytest.raises(CommandError, match="lower-case Python name"):
        call_command("startcomponent", "things", stream="Thing", directory=str(tmp_path))
    (tmp_path / "gadgets").mkdir()
    (tmp_path / "gadgets" / "domain.py").write_text("# mine\n")
    with pytest.raises(CommandError, match="Not overwriting gadgets/domain.py"):
        call_command("startcomponent", "gadgets", directory=str(tmp_path))
    assert (tmp_path / "gadgets" / "domain.py").read_text() == "# mine\n"
