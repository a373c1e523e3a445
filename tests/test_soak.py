"""The soak (bench/soak.py), short: 30 s of orders at 20 posts a second through gunicorn, two
Celery workers and beat, with each of its three faults once (a worker SIGKILLed, Redis restarted,
the database's connections terminated). Nothing accepted is lost, nothing is doubled, the site
never answers a 500, and the read models equal a rebuild from zero.

The soak runs as the script it is, in a process of its own, on a scratch database of its own beside
the test database (`<name>_soak`, made and dropped by the soak)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import session_database_url

pytestmark = pytest.mark.postgresql

ROOT = Path(__file__).resolve().parent.parent
# Faults at 9, 18 and 27 s of a 30 s load; then the settling, the counting and a rebuild.
ARGUMENTS = ["--minutes", "0.5", "--fault-every", "9", "--rate", "20", "--settle-timeout", "60"]


def test_a_short_soak_with_every_fault_loses_nothing_and_doubles_nothing(tmp_path):
    from django.db import connection

    figures_file = tmp_path / "soak.json"
    name = f"{connection.settings_dict['NAME']}_soak"
    run = subprocess.run(
        [sys.executable, "bench/soak.py", *ARGUMENTS, "--database", name, "--json", str(figures_file)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": session_database_url()},
        capture_output=True,
        text=True,
        timeout=240,
    )
    shown = f"{run.stdout}\n--- stderr (tail) ---\n{run.stderr[-5000:]}"
    assert run.returncode == 0, shown
    figures = json.loads(figures_file.read_text())
    assert [fault["kind"] for fault in figures["faults"]] == [
        "worker killed",
        "Redis restarted",
        "database connections terminated",
    ], shown
    assert (figures["lost"], figures["doubled"], figures["wrong"], figures["parked"]) == (0, 0, 0, 0), shown
    assert figures["server_errors"] == 0 and figures["unexpected_answers"] == 0, shown
    assert figures["read_models_disagree"] == "", shown
    assert figures["accepted"]["order"] > 300 and figures["not_accepted"] == 0, shown
    print(run.stdout)  # noqa: T201 - the soak's figures, shown with -s
