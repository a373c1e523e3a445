"""Step 1, the data input: the gateway, its partners and keys, and what became of each message (docs/design.md 1)."""
