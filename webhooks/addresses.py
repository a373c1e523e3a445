"""Where a webhook may be sent (S17): only `https` to public addresses, unless WEBHOOK_ALLOW_PRIVATE.

A URL is checked twice. When an endpoint is set (`refusal`), for what can be known then: the
scheme, and the host's addresses if its name resolves. When each delivery is sent (`target`),
against what the host resolves to at that moment, as DNS can change; the request then goes to the
address that was checked, not to a second lookup of the name. Redirects are never followed (the
sender's client), so a public URL cannot hand the request on to a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

#: (host, port) -> the addresses it resolves to; socket.gaierror when it does not.
Resolver = Callable[[str, int], list[str]]


class RefusedURL(Exception):
    """A webhook URL that may not be called; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, as the system's resolver answers now."""
    return list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet: not private, loopback, link-local,
    reserved, multicast, shared or unspecified."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id (fe80::1%eth0) is no part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    # is_global alone takes multicast groups (224.0.0.0/4, ff0e::/16) for public.
    return ip.is_global and not ip.is_multicast


def refusal(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> str | None:
    """Why an endpoint may not be set to `url`, or None. A host name that does not resolve yet is
    let through: each delivery checks it again."""
    try:
        parts = _parts(url, allow_private=allow_private)
        if not allow_private:
            _public_addresses(parts, resolver, unresolved_ok=True)
    except RefusedURL as refused:
        return str(refused)
    return None


@dataclass(frozen=True)
class Target:
    """Where to send a delivery: the URL to connect to (the checked address in place of the host
    name) and what the request must say to the host (its Host header, its TLS server name)."""

    url: str
    host_header: str | None = None
    server_name: str | None = None


def target(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> Target:
    """The target of a delivery to `url`, checked now; RefusedURL when it may not be called."""
    parts = _parts(url, allow_private=allow_private)
    if allow_private:
        return Target(url)
    host = parts.hostname or ""
    address = _public_addresses(parts, resolver, unresolved_ok=False)[0]
    if address == host:
        return Target(url)  # an address already: nothing to pin
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = f"{host}:{parts.port}" if parts.port else host
    return Target(parts._replace(netloc=netloc).geturl(), host_header=host_header, server_name=host)


def _parts(url: str, *, allow_private: bool) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError as invalid:
        raise RefusedURL(f"Not a valid URL: {invalid}.") from invalid
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise RefusedURL("Only https URLs are accepted.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise RefusedURL("The URL may not carry a user name or password.")
    return parts


def _public_addresses(parts: SplitResult, resolver: Resolver, *, unresolved_ok: bool) -> list[str]:
    """The host's addresses, every one of them public; RefusedURL otherwise."""
    host = parts.hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = resolver(host, parts.port or 443)
        except (socket.gaierror, UnicodeError) as unresolved:
            if unresolved_ok:
                return []
            raise RefusedURL(f"The host {host} does not resolve: {unresolved}.") from unresolved
        if not addresses:
            raise RefusedURL(f"The host {host} resolves to no address.") from None
    if private := [address for address in addresses if not is_public(address)]:
        raise RefusedURL(
            f"The host {host} is not a public address ({', '.join(private)}); "
            "webhooks go only to public addresses unless WEBHOOK_ALLOW_PRIVATE is set."
        )
    return addresses
