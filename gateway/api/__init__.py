"""The HTTP API for partners: the gateway (`POST /shop/api/v1`) and what it needs (keys, rates, JSON)."""
