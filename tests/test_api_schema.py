"""The OpenAPI schema: valid, complete for the gateway, and its docs self-hosted.

That the app keeps to it, every documented answer and generated requests valid and not, is
RELIABILITY S14: tests/security/test_schemathesis.py.
"""

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from drf_spectacular.validation import validate_schema

GATEWAY_ANSWERS = {"202", "400", "401", "403", "413", "415", "422", "429", "503"}


@pytest.fixture
def schema_json(client) -> dict:
    answer = client.get("/api/schema/?format=json")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return json.loads(answer.content)


def test_schema_passes_drf_spectacular_validation_without_warnings(tmp_path):
    # --validate checks against the OpenAPI 3 JSON schema; --fail-on-warn fails on any warning or error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format=openapi-json", f"--file={tmp_path / 's'}")
    validate_schema(json.loads((tmp_path / "s").read_text()))


def test_schema_served_as_yaml_and_json_is_the_same_valid_openapi_3(client, schema_json):
    assert schema_json["openapi"].startswith("3.")
    validate_schema(schema_json)  # raises jsonschema.ValidationError
    answer = client.get("/api/schema/")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(answer.content) == schema_json


def test_schema_documents_every_answer_of_the_gateway_and_its_key(schema_json):
    post = schema_json["paths"]["/shop/api/v1"]["post"]
    assert set(post["responses"]) == GATEWAY_ANSWERS
    for status, response in post["responses"].items():
        assert response["description"], status
        assert "application/json" in response["content"], status
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"applies", "source", "profile"}
    assert body["additionalProperties"] is True
    assert [p["name"] for p in post["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    assert post["security"] == [{"PartnerKey": []}]
    scheme = schema_json["components"]["securitySchemes"]["PartnerKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("src", "href") and value]


#: A name collectstatic's manifest storage gives a file: its content's hash before the extension.
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.(css|js|png)$")


def test_api_docs_load_nothing_from_outside_the_site(settings, tmp_path):
    # As deployed: collectstatic with the production storage (tests use the plain one, not collecting),
    # then whitenoise serves the collected files (DEBUG is off) under hashed names, compressed.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    client = Client()  # a new handler: whitenoise reads STATIC_ROOT when the middleware starts

    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    parser = _Links()
    parser.feed(html)
    assert parser.links, "the docs page references no asset"
    assert not re.search(r"https?:|[\"'(]//", html), "the docs page names an outside URL"
    static_links = [link for link in parser.links if urlsplit(link).path.startswith("/static/")]
    [script] = [link for link in parser.links if link not in static_links]  # the page's own script
    assert urlsplit(script).path == "/api/docs/", script
    for link in static_links:
        parts = urlsplit(link)
        assert not parts.scheme and not parts.netloc, link
        assert HASHED_NAME.search(parts.path), link
        asset = client.get(link, HTTP_ACCEPT_ENCODING="gzip")
        assert asset.status_code == 200, link
        assert "immutable" in asset["Cache-Control"], link  # a hashed name never changes content
        if parts.path.endswith((".css", ".js")):
            assert asset["Content-Encoding"] == "gzip", link  # collectstatic's compressed copy
    page_script = client.get(script)
    assert page_script.status_code == 200 and page_script["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in page_script.content.decode()  # the schema, too, comes from the site


@pytest.mark.django_db(transaction=True)
def test_the_schema_asked_for_by_many_threads_at_once_answers_every_one():
    # drf-spectacular's generator is not thread-safe (tfranzel/drf-spectacular#1122): gunicorn's
    # threads asking at once once answered 500.
    from concurrent.futures import ThreadPoolExecutor

    def ask(_: int) -> int:
        return Client().get("/api/schema/?format=json").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(32)))
    assert answers == [200] * 32
