"""The storefront's catalog: the active products, and the last list read when the store is down.

A web process remembers the last catalog it read, so that a page served while the database is
unreachable can still show the order form with the customer's input, next to a clear message.
Prices for an order are never taken from that copy: placing an order reads them afresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import InterfaceError, OperationalError

from readside.models import Product

logger = logging.getLogger(__name__)

#: What Django raises when the database cannot be reached (the gateway's API answers 503 for them).
STORE_DOWN_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    description: str
    unit_price: Decimal
    currency: str


@dataclass(frozen=True)
class Catalog:
    items: tuple[CatalogItem, ...]
    #: False: the store could not be read; `items` is this process's last list read (maybe empty).
    reachable: bool = True


class _LastRead:
    items: tuple[CatalogItem, ...] = ()


def active_products() -> tuple[CatalogItem, ...]:
    """The active products, by SKU; raises the database's error if it cannot be read."""
    items = tuple(
        CatalogItem(p.sku, p.name, p.description, p.unit_price, p.currency) for p in Product.objects.filter(active=True)
    )
    _LastRead.items = items  # one assignment: safe across the process's threads
    return items


def shop_catalog() -> Catalog:
    """The catalog to show: read now, or, with the store unreachable, the last list read."""
    try:
        return Catalog(active_products())
    except STORE_DOWN_ERRORS as error:
        logger.error("Store unreachable, showing the last catalog read: %s", error)
        return Catalog(_LastRead.items, reachable=False)
