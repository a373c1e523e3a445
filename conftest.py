"""Root conftest: loaded before Django's settings, so it can give the test run its environment."""

import os

# Tests run with DEBUG off, as production does; they need a key, never a real one.
os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
