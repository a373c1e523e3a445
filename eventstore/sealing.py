"""The sealed box of eventstore.personal_data: a list of JSON values, AES-256-GCM under a customer's
key with the event's id as associated data, the nonce first, in base64; and the keys that open.

Opening is on every read of the log (a rebuild opens every sealed event), so it is kept lean: the
keys of a page are read in one query (on PostgreSQL with one array parameter), each read anew.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connections, router

NONCE_BYTES = 12
#: json.loads of text, without its checks of arguments and, for bytes, of their encoding: a tenth
#: of the cost of opening an event.
_json_values = json.JSONDecoder().decode
_json_text = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps makes an encoder per call


def seal_values(cipher: AESGCM, values: list[Any], *, event_id: bytes) -> str:
    """The values sealed with the cipher of a customer's key, as text for the envelope."""
    nonce = os.urandom(NONCE_BYTES)
    box = nonce + cipher.encrypt(nonce, _json_text(values).encode(), event_id)
    return base64.b64encode(box).decode()


def open_values(cipher: AESGCM, sealed: str, *, event_id: bytes) -> list[Any]:
    """The values of `seal_values`, opened with the cipher of their key (`ciphers`)."""
    box = binascii.a2b_base64(sealed)
    return _json_values(cipher.decrypt(box[:NONCE_BYTES], box[NONCE_BYTES:], event_id).decode())


def ciphers(key_ids: set[str]) -> dict[str, AESGCM]:
    """A cipher for each of these keys that is not destroyed, by key id (as text), read now: keys
    are never kept for reading, so a destroyed key opens nothing from the moment it is destroyed."""
    from eventstore.models import CustomerKey

    connection = connections[router.db_for_read(CustomerKey)]
    if connection.vendor != "postgresql":
        rows = CustomerKey.objects.filter(key_id__in=key_ids, secret__isnull=False).values_list("key_id", "secret")
        return {str(key_id): AESGCM(bytes(secret)) for key_id, secret in rows}
    # A page's keys (hundreds) as one array: the ORM's IN list, a value prepared and a placeholder
    # parsed per key, cost more than the query itself.
    table = connection.ops.quote_name(CustomerKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT key_id::text, secret FROM {table} WHERE key_id = ANY(%s::uuid[]) AND secret IS NOT NULL",
            [list(key_ids)],
        )
        return {key_id: AESGCM(bytes(secret)) for key_id, secret in cursor.fetchall()}
