"""The storefront: the catalog, the order form (through the gateway service) and the status page."""
