"""The partner read API under /api/v1/ (docs/design.md 6.4)."""
