"""The address of the client behind a request, as far as the site can trust it.

With no proxy (TRUSTED_PROXY_COUNT = 0) it is the connection's peer, REMOTE_ADDR: X-Forwarded-For
is ignored, since a client can write anything in it. Behind N reverse proxies, each appending the
address it received the request from, the client is the N-th entry from the right of
X-Forwarded-For: the one the outermost proxy wrote. Anything to the left of it came from the
client. The site must then be reachable only through those proxies.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address (used by the admin login lockout), or None when the request has none."""
    peer = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < proxies:
        return peer  # the request did not come through every proxy
    candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer  # not written by a proxy of ours
