"""Settings of the workers and beat of the lease fault tests (R23, R26): the shop's, with leases
whose lengths the test chooses (PARTITION_LEASE_SECONDS and PROJECTOR_LEASE_SECONDS in the
environment; 2 s by default), so a test can outwait every lease in a few seconds, or show that a
takeover does not wait for a long one."""

from shopsite.settings import *  # noqa: F403 - the shop's settings, as they are
from shopsite.settings import env

PARTITION_LEASE_SECONDS = env.float("PARTITION_LEASE_SECONDS", default=2.0)
PROJECTOR_LEASE_SECONDS = env.float("PROJECTOR_LEASE_SECONDS", default=2.0)
