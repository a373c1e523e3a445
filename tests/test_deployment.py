"""Deployment: docker-compose.yml and the Dockerfile run the Procfile's processes with the written-down
production environment, and the Procfile itself runs the whole flow under honcho (PostgreSQL, a
Redis of the test's own), then stops whole."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.flows import web_order
from tests.partners import new_partner_key
from tests.services import redis_server
from tests.serving import (
    PRODUCTION_ENV_EXAMPLE,
    ROOT,
    free_port,
    http,
    manage,
    production_environment,
    session_database_url,
)
from tests.waiting import wait_until

PROCESSES = ("web", "worker", "beat")


def procfile() -> dict[str, str]:
    """The Procfile's processes: name to command line."""
    lines = [line.partition(":") for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    return {name.strip(): command.strip() for name, _, command in lines}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def written_environment() -> dict[str, str]:
    """deploy/production.env.example as written, its empty SECRET_KEY included."""
    return {
        name: value
        for name, _, value in (
            line.partition("=") for line in PRODUCTION_ENV_EXAMPLE.read_text().splitlines() if re.match(r"\w+=", line)
        )
    }


def test_the_procfile_runs_web_worker_and_beat():
    commands = procfile()
    assert set(commands) == set(PROCESSES)
    assert "gunicorn --config gunicorn.conf.py shopsite.wsgi" in commands["web"]
    assert commands["web"].startswith("python manage.py collectstatic --noinput")


def test_compose_runs_the_procfiles_commands_with_postgresql_15_and_redis_7():
    services = compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    commands = procfile()
    # web's command has `&&`, so a shell runs it; the others are the same words, run directly.
    assert services["web"]["command"] == ["sh", "-c", commands["web"]]
    for name in ("worker", "beat"):
        assert services[name]["command"] == shlex.split(commands[name]), name
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert "127.0.0.1:8000:8000" in services["web"]["ports"]  # only the TLS proxy on the host reaches it


def test_compose_starts_the_processes_once_the_stores_are_healthy_and_migrated():
    services = compose()["services"]
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in PROCESSES:
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_compose_gives_the_processes_the_production_environment():
    services = compose()["services"]
    for name in (*PROCESSES, "migrate", "postgres"):
        assert services[name]["env_file"] == "deploy/production.env", name
    env = written_environment()
    assert env["SECRET_KEY"] == "" and env["DEBUG"] == "0"
    assert env["ALLOWED_HOSTS"] and all(o.startswith("https://") for o in env["CSRF_TRUSTED_ORIGINS"].split(","))
    assert re.fullmatch(r"redis://redis:6379/\d+", env["CELERY_BROKER_URL"])
    assert re.fullmatch(r"redis://redis:6379/\d+", env["CACHE_URL"])
    # The shop's DATABASE_URL and the postgres service's own variables name the same database.
    user, password, name = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
    assert env["DATABASE_URL"] == f"postgres://{user}:{password}@postgres:5432/{name}"
    # The filled-in copy holds the secrets: never in git, never in the image.
    assert "deploy/production.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/production.env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_image_runs_as_a_user_with_its_static_files_collected_and_web_as_its_command():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert instructions.index("COPY requirements.txt .") < instructions.index("COPY . .")
    collect = next(n for n, line in enumerate(instructions) if "manage.py collectstatic" in line)
    user = instructions.index("USER shop")
    assert instructions.index("COPY . .") < user < collect  # the code is in; collected as the user
    assert json.loads(instructions[-1].removeprefix("CMD ")) == ["sh", "-c", procfile()["web"]]


def test_make_run_with_debug_on_needs_no_collectstatic():
    """The production storage by default; with DEBUG on (`make run`) pages name static files as they
    are in the apps' folders, so no manifest is needed (the tests set STATIC_MANIFEST=0 instead)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DEBUG": "1"}
    code = (
        "from django.conf import settings; from django.templatetags.static import static; "
        "print(settings.STORAGES['staticfiles']['BACKEND'], static('shopsite/site.css'))"
    )
    shown = manage("shell", "--no-imports", "-c", code, env=env).split()
    assert shown == ["whitenoise.storage.CompressedManifestStaticFilesStorage", "/static/shopsite/site.css"]


# --- the Procfile under honcho -------------------------------------------------------------------

STARTED = re.compile(r"\| (\w+)\.\d+ started \(pid=(\d+)\)")


def living_members(group: int) -> list[int]:
    """The processes of a process group that still run (an ended child not yet reaped by whoever
    adopted it, a zombie, has ended: it holds nothing)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()  # after "pid (command)"
        except OSError:
            continue  # ended while we looked
        state, pgid = fields[0], int(fields[2])
        if pgid == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


@contextmanager
def honcho(env: dict[str, str], port: int, directory: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    """`honcho start` of the Procfile in `env`; yields the process and its output file. On exit
    anything still running (honcho, or a process group it started) is killed."""
    output = directory / "honcho.log"
    no_env_file = directory / "empty.env"  # not the developer's .env, honcho's default
    no_env_file.write_text("")
    command = [sys.executable, "-m", "honcho", "start", "--no-colour", f"--env={no_env_file}", f"--port={port}"]
    with output.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process, output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        for _, pid in STARTED.findall(output.read_text()):
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass  # ended, as it should have


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_procfile_under_honcho_settles_an_order_and_stops_whole():
    port = free_port()
    with redis_server() as redis_, tempfile.TemporaryDirectory(prefix="honcho-") as directory:
        env = production_environment(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            DATABASE_URL=session_database_url(),
            CELERY_BROKER_URL=redis_.url(0),
            CACHE_URL=redis_.url(1),
            # No TLS proxy here: the test speaks plain http to gunicorn on 127.0.0.1.
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            STATIC_ROOT=f"{directory}/static",
            CELERY_BEAT_SCHEDULE_FILE=f"{directory}/beat-schedule",
            WEB_CONCURRENCY="1",
            WORKER_CONCURRENCY="1",
        )
        key = new_partner_key("acme", sources=("web",))
        auth = {"Authorization": f"Api-Key {key}"}
        site = f"http://127.0.0.1:{port}"
        order_id = str(uuid.uuid4())

        with honcho(env, port, Path(directory)) as (process, output):

            def answers(path: str, status: int) -> bool | None:
                if process.poll() is not None:
                    raise AssertionError(f"honcho ended early:\n{output.read_text()[-6000:]}")
                try:
                    return http("GET", site + path, headers=auth, timeout=5).status == status or None
                except OSError:
                    return None  # not listening yet

            wait_until(lambda: answers("/healthz", 200), timeout=60, what="web to answer /healthz")
            posted = http("POST", f"{site}/shop/api/v1", json_body=web_order(order_id, "tok_ok"), headers=auth)
            assert posted.status == 202, posted.body

            def paid() -> bool | None:
                answers("/healthz", 200)  # fails at once if honcho ended
                answer = http("GET", f"{site}/api/v1/orders/{order_id}", headers=auth)
                return answer.status == 200 and answer.json()["status"] == "paid" or None

            wait_until(paid, timeout=60, what=f"order {order_id} to show paid in the read API")

            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)  # honcho kills what is left 5 s after asking it to stop
            log = output.read_text()
            started = dict(STARTED.findall(log))
            assert set(started) == set(PROCESSES), log[-6000:]
            for name, pid in started.items():
                assert re.search(rf"{name}\.\d+ stopped \(rc=", log), f"{name} did not stop:\n{log[-6000:]}"
                assert living_members(int(pid)) == [], f"{name}'s processes outlived honcho"
            assert "SIGKILL" not in log, log[-6000:]  # every process stopped when asked
            assert "Using worker: gthread" in log  # gunicorn.conf.py's (gunicorn's own default is sync)


def test_every_variable_the_settings_read_is_in_the_readme_s_table():
    settings_source = (ROOT / "shopsite" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    read |= set(re.findall(r'environ(?:\.get)?[\[(]\s*"([A-Z_]+)"', settings_source))
    table = {row.split("|")[1] for row in (ROOT / "README.md").read_text().splitlines() if row.startswith("| `")}
    listed = set(re.findall(r"`([A-Z_]+)`", " ".join(table)))
    assert len(read) > 40
    assert sorted(read - listed) == []
