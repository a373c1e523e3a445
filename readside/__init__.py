"""Step 3, the pages and APIs that read the read models: storefront, reports, partner read API (docs/design.md 1)."""
