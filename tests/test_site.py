"""The project itself: settings from the environment, the Celery delivery settings, make-run pieces."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.urls import reverse

from eventstore import components, consumers
from readside.models import Product
from shopsite.celery import app as celery_app
from shopsite.celery import serve_every_components_queue

ROOT = Path(__file__).resolve().parent.parent


def settings_in_subprocess(expression: str, **env: str) -> subprocess.CompletedProcess:
    """Evaluate `expression` after loading the settings with exactly this environment."""
    environment = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "shopsite.settings", **env}
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_secret_key_is_required_when_debug_is_off():
    result = settings_in_subprocess("settings.SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_secret_key_starting_with_a_dollar_is_taken_as_it_is():
    # django-environ would read "$abc" as the value of the variable "abc" (here: none).
    result = settings_in_subprocess("settings.SECRET_KEY", SECRET_KEY="$q#2w5e(pc*6^q^oc58")
    assert result.returncode == 0, result.stderr
    assert "$q#2w5e(pc*6^q^oc58" in result.stdout


def test_debug_runs_without_a_secret_key_and_on_sqlite_by_default():
    result = settings_in_subprocess(
        "settings.DEBUG, settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['OPTIONS']", DEBUG="1"
    )
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout and "sqlite3" in result.stdout
    assert "'transaction_mode': 'IMMEDIATE'" in result.stdout and "journal_mode=WAL" in result.stdout


def test_database_broker_and_hosts_come_from_the_environment():
    result = settings_in_subprocess(
        "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER,"
        " settings.ALLOWED_HOSTS",
        SECRET_KEY="x",
        DATABASE_URL="postgres://shop@db.internal:5432/shop",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        ALLOWED_HOSTS="shop.example,api.shop.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "django.db.backends.postgresql redis://cache.internal:6379/0 False ['shop.example', 'api.shop.example']"
    )


def test_without_a_broker_tasks_run_in_process():
    result = settings_in_subprocess("settings.CELERY_BROKER_URL == '', settings.CELERY_TASK_ALWAYS_EAGER", DEBUG="1")
    assert result.stdout.strip() == "True True"


def test_celery_delivers_at_least_once_as_json_one_task_at_a_time():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == conf.result_serializer == "json"
    # A worker serves a queue per consumer group (each installed component's), the projectors'
    # and the default one, set as it starts (a real worker started without -Q is in tests/workers.py).
    groups = {group.queue for group in consumers.registered()}
    serving = SimpleNamespace(task_queues=None)
    serve_every_components_queue(conf=serving)
    assert {q.name for q in serving.task_queues} == {"default", "projections", *groups}
    assert groups == {g.queue for c in components.installed() for g in c.consumer_groups}


@pytest.mark.django_db
def test_the_home_page_lists_the_demo_catalog(client):
    call_command("loaddata", "demo_catalog", verbosity=0)
    call_command("loaddata", "demo_catalog", verbosity=0)  # loading twice changes nothing
    assert Product.objects.count() == 8
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert b"TEE-RED-M" in page.content and b"19.90" in page.content


@pytest.mark.django_db
def test_ensure_staff_user_creates_a_superuser_that_can_open_the_admin(client, monkeypatch, capsys):
    monkeypatch.setenv("SHOP_ADMIN_PASSWORD", "correct-horse-battery")
    call_command("ensure_staff_user")
    assert "admin / correct-horse-battery" in capsys.readouterr().out
    assert client.login(request=HttpRequest(), username="admin", password="correct-horse-battery")
    assert client.get("/admin/").status_code == 200
    call_command("ensure_staff_user", username="admin")  # a second run updates, never duplicates
    assert "updated" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_admin_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_the_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
