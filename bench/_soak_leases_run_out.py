"""The shop's settings with leases that only run out (no session locks, eventstore/leases.py), for
`bench/soak.py --leases-run-out`: a dead worker's partitions and projectors wait out their leases
(15 s, 30 s), as before the locks, so the soak shows what they buy."""

from shopsite.settings import *  # noqa: F403 - the shop's settings, as they are

LEASE_SESSION_LOCKS = False
