"""A new partner and its API key, as `manage.py create_partner` makes them, for tests that post."""

from gateway.models import Partner, PartnerAPIKey

#: Every source a partner of the tests may post.
ALL_SOURCES = ("web", "marketplace", "warehouse")


def new_partner_key(name: str = "acme", *, sources: tuple[str, ...] = ALL_SOURCES, **fields: object) -> str:
    """A new partner `name` allowed `sources` (and any other Partner `fields`), and its key: the
    secret, as the partner sends it."""
    partner = Partner.objects.create(name=name, allowed_sources=list(sources), **fields)
    return PartnerAPIKey.objects.create_key(partner=partner, name=name)[1]
