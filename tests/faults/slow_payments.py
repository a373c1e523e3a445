"""A payment provider for fault tests, named in the worker's BILLING_PAYMENT_GATEWAY: the fake
provider of the design, plus the token `tok_slow`.

The first charge of a `tok_slow` order waits, then captures as `tok_ok`; later attempts (after a
kill) capture at once. Before it waits it writes a mark `<order id>.<pid>.<Celery task id>` in the
folder FAULT_MARKERS, so a test knows which process and task have the order in hand (to kill them
there, mid-handler). It waits until the test writes `release-<order id>` there, or for
SLOW_CHARGE_SECONDS (default 6). Its memory is the cache, like the fake provider's.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

from celery import current_task
from django.core.cache import cache

from billing.payment_gateway import Charge, FakePaymentGateway

SLOW_TOKEN = "tok_slow"


class SlowPaymentGateway(FakePaymentGateway):
    def charge(self, *, idempotency_key: str, amount: Decimal, currency: str, token: str) -> Charge:
        if token == SLOW_TOKEN:
            if cache.add(f"{self.prefix}:slow:{idempotency_key}", 1, timeout=None):  # the first attempt only
                task_id = current_task.request.id if current_task else "no-task"
                markers = Path(os.environ["FAULT_MARKERS"])
                (markers / f"{idempotency_key}.{os.getpid()}.{task_id}").touch()
                deadline = time.monotonic() + float(os.environ.get("SLOW_CHARGE_SECONDS", "6"))
                while time.monotonic() < deadline and not (markers / f"release-{idempotency_key}").exists():
                    time.sleep(0.05)
            token = "tok_ok"
        return super().charge(idempotency_key=idempotency_key, amount=amount, currency=currency, token=token)
