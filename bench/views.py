"""The floors of the webhook benchmark, behind the same middleware and URL resolver as the
SES webhook, POSTed the same bodies:

* ``bare_webhook`` reads the JSON body and answers 200 (the issue's floor);
* ``ledger_webhook`` also stores the SNS ``MessageId`` once, committed: one
  ``INSERT … ON CONFLICT DO NOTHING`` in its own transaction, the least durable work a
  webhook can do before it answers 200.
"""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

LEDGER_TABLE = "bench_webhook_ledger"


@csrf_exempt
def bare_webhook(request: HttpRequest) -> HttpResponse:
    json.loads(request.body)
    return HttpResponse()


@csrf_exempt
def ledger_webhook(request: HttpRequest) -> HttpResponse:
    message = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {LEDGER_TABLE} (message_id) VALUES (%s) ON CONFLICT DO NOTHING",
            [message["MessageId"]],
        )
    return HttpResponse()
