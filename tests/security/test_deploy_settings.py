"""S13: the production settings pass `manage.py check --deploy --fail-level WARNING`, and with DEBUG
off the site is HTTPS-only without being told: redirects, secure cookies, HSTS. Behind a TLS proxy,
gunicorn takes the proxy's word for https only from the addresses it is given."""

import http.client

import pytest
from django.core.management.utils import get_random_secret_key

from tests.serving import PRODUCTION_ENV_EXAMPLE, Site, manage, production_environment, serve, site_environment

DEPLOY_CHECK = ("check", "--deploy", "--fail-level", "WARNING")


def test_the_written_down_production_environment_passes_the_deploy_check():
    output = manage(*DEPLOY_CHECK, env=production_environment())
    assert "System check identified no issues" in output


def test_the_written_down_environment_holds_no_secret_key():
    lines = PRODUCTION_ENV_EXAMPLE.read_text().splitlines()
    assert "SECRET_KEY=" in lines  # present and empty: each deployment makes its own


def test_debug_off_passes_the_deploy_check_with_no_security_setting_given():
    env = {"PATH": production_environment()["PATH"], "SECRET_KEY": get_random_secret_key(), "ALLOWED_HOSTS": "shop.t"}
    output = manage(*DEPLOY_CHECK, env=env)
    assert "System check identified no issues" in output


@pytest.mark.django_db
def test_debug_off_redirects_http_to_https_but_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    answer = client.get("/reports/?from=2026-01-01")
    assert answer.status_code == 301 and answer["Location"] == "https://testserver/reports/?from=2026-01-01"
    assert client.get("/healthz").status_code == 200  # load balancers ask over plain http
    assert client.get("/metrics").status_code != 301  # and Prometheus (allowed or not by METRICS_ALLOWED_IPS)

    secure = client.get("/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_a_proxys_https_header_is_trusted_by_django_only_when_named(settings):
    assert settings.SECURE_PROXY_SSL_HEADER is None  # not set in the tests' environment
    env = {"PATH": production_environment()["PATH"], "SECRET_KEY": get_random_secret_key()}
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    shown = manage("shell", "--no-imports", "-c", code, env={**env, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"})
    assert shown.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


def status_of(site: Site, path: str, headers: dict[str, str]) -> int:
    """The status of one GET, redirects not followed (the site's https does not exist here)."""
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_behind_a_tls_proxy_gunicorn_takes_https_only_from_the_allowed_addresses(tmp_path):
    https_from_proxy = {"X-Forwarded-Proto": "https"}
    env = site_environment(SECURE_SSL_REDIRECT="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    page = "/api/schema/"  # a page that needs no database
    # gunicorn.conf.py: FORWARDED_ALLOW_IPS, 127.0.0.1 by default, where the tests connect from.
    with serve(env, ready_path="/healthz") as site:
        assert status_of(site, page, https_from_proxy) == 200
        assert status_of(site, page, {}) == 301  # plain http, even from the proxy: redirected
    with serve({**env, "FORWARDED_ALLOW_IPS": "192.0.2.1"}, ready_path="/healthz") as site:
        assert status_of(site, page, https_from_proxy) == 301  # not our proxy
