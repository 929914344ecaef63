"""The receiver of anymail's ``tracking`` signal (connected in ``AppConfig.ready``).

anymail's webhook views authenticate the ESP (``ANYMAIL["WEBHOOK_SECRET"]``), parse its
payload and send one normalized event per recipient; a payload anymail cannot parse is
refused by anymail with a 400 before it reaches here. An exception raised here would turn
into a 500 and make the ESP deliver the batch again, so only database errors propagate
(the ESP's retry is then what we want); an event about mail that is not ours is ignored.
"""

from __future__ import annotations

from typing import Any

from .events import Incoming, record


def handle_tracking(sender: Any, event: Any, esp_name: str = "", **kwargs: Any) -> None:
    record(Incoming.from_anymail(event))
