"""CSV import and export of subscribers.

The import streams the file (one row in memory at a time, upserts in batches of
``BATCH_SIZE``: a handful of statements per batch, none per row) and reports every refused row
with its row number, column and message. New contacts are ``pending`` and get the double
opt-in email, unless the importer states the consent basis they hold, which is written to
the consent ledger and makes them ``active``. An import never changes the status of an
existing subscription: an unsubscribed, bounced or complained address stays so.

Progress and the report live in the cache under ``cache_key(import_id)`` so a page can poll
them while a Celery task (or the request itself, when tasks run eagerly) does the work.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .conf import petmail_settings
from .emails import send_confirmation_email
from .exceptions import ImportFailed, ImportTooLarge
from .models import (
    SUBSCRIPTION_FIELDS,
    ConsentEvent,
    ConsentEventType,
    Frequency,
    NewsletterSubscription,
    SubscriptionSource,
    SubscriptionStatus,
    Suppression,
    email_hash,
    normalize_email,
)
from .subscriptions import clean_name

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
#: At most this many row errors are kept in the report; the count goes on.
MAX_REPORTED_ERRORS = 1000
#: How long an import's progress and report stay readable.
STATE_TIMEOUT = 7 * 24 * 3600
COLUMNS = ("email", "first_name", "topics", "frequency", "language")
_ALIASES = {"name": "first_name", "nombre": "first_name", "correo": "email"}
_TOPIC_SPLIT = re.compile(r"[;,|\s]+")
#: Cells a spreadsheet would read as a formula (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


def cache_key(import_id: str) -> str:
    return f"petmail:import:{import_id}"


def check_size(size: int | None) -> None:
    """Refuse an upload over ``IMPORT_MAX_BYTES`` before anything is stored."""
    limit = petmail_settings.IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise ImportTooLarge(
            _("The file is larger than %(limit)d bytes (IMPORT_MAX_BYTES).") % {"limit": limit}
        )


def start_import(upload: IO[bytes], *, size: int, consent_basis: str = "", user: Any = None) -> str:
    """Store the upload and its initial state; returns the import id for ``run_import``."""
    check_size(size)
    import_id = uuid.uuid4().hex
    name = default_storage.save(f"petmail/imports/{import_id}.csv", upload)
    _save_state(
        import_id,
        {
            "id": import_id,
            "status": ImportStatus.QUEUED.value,
            "file": name,
            "consent_basis": clean_name(consent_basis)[:255],
            "user": str(user or ""),
            "bytes_total": size,
            "bytes_read": 0,
            "rows": 0,
            "created": 0,
            "updated": 0,
            "confirmation_emails": 0,
            "error_count": 0,
            "errors": [],
            "message": "",
        },
    )
    return import_id


def get_state(import_id: str) -> dict[str, Any] | None:
    state = cache.get(cache_key(str(import_id)))
    return state if isinstance(state, dict) else None


def _save_state(import_id: str, state: dict[str, Any]) -> None:
    cache.set(cache_key(import_id), state, STATE_TIMEOUT)


def run_import(import_id: str) -> dict[str, Any]:
    """Import a stored upload, saving progress after every batch; safe to run twice (the
    second run finds the import finished and returns its state)."""
    state = get_state(import_id)
    if state is None:
        raise ValueError(f"import_id: no import {import_id!r} (expired or never started)")
    if state["status"] in (ImportStatus.DONE, ImportStatus.FAILED):
        return state
    state["status"] = ImportStatus.RUNNING.value
    _save_state(import_id, state)
    try:
        with default_storage.open(state["file"], "rb") as handle:
            import_rows(handle, state, on_progress=lambda: _save_state(import_id, state))
    except ImportFailed as exc:
        state["status"] = ImportStatus.FAILED.value
        state["message"] = exc.message
        _add_error(state, exc.row, exc.column, exc.message)
    else:
        state["status"] = ImportStatus.DONE.value
    finally:
        default_storage.delete(state["file"])
    _save_state(import_id, state)
    return state


def fail_import(import_id: str, message: str) -> None:
    """Mark an import failed before it ran (its worker could not be started)."""
    state = get_state(import_id)
    if state is None:
        return
    state["status"] = ImportStatus.FAILED.value
    state["message"] = message
    _save_state(import_id, state)
    default_storage.delete(state["file"])


def _add_error(state: dict[str, Any], row: int, column: str, message: str) -> None:
    state["error_count"] += 1
    if len(state["errors"]) < MAX_REPORTED_ERRORS:
        state["errors"].append({"row": row, "column": column, "message": str(message)})


def _lines(handle: IO[bytes], state: dict[str, Any]) -> Iterator[str]:
    """Decode the file line by line (UTF-8, with or without a BOM), counting bytes read."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    for line_no, raw in enumerate(handle, start=1):
        state["bytes_read"] += len(raw)
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as exc:
            raise ImportFailed(line_no, "", _("The file is not UTF-8 text.")) from exc


def import_rows(
    handle: IO[bytes], state: dict[str, Any], on_progress: Any = None
) -> dict[str, Any]:
    """Import a binary CSV stream into ``state`` (counts and the error report)."""
    reader = csv.reader(_lines(handle, state))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFailed(1, "", str(exc)) from exc
    if header is None:
        raise ImportFailed(1, "email", _("The file is empty."))
    names = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    if "email" not in names:
        raise ImportFailed(1, "email", _("The file has no “email” column."))
    index = {name: names.index(name) for name in COLUMNS if name in names}
    basis = state["consent_basis"]
    batch: dict[str, tuple[int, dict[str, Any]]] = {}
    row_no = 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise ImportFailed(row_no + 1, "", str(exc)) from exc
        if cells is None:
            break
        row_no += 1
        if not any(cell.strip() for cell in cells):
            continue
        state["rows"] += 1
        values = {name: cells[i].strip() if i < len(cells) else "" for name, i in index.items()}
        parsed = _parse_row(row_no, values, state)
        if parsed is not None:
            batch[parsed["email"]] = (row_no, parsed)  # a later row for the same address wins
        if len(batch) >= BATCH_SIZE:
            _flush(batch, basis, state)
            batch = {}
            if on_progress:
                on_progress()
    if batch:
        _flush(batch, basis, state)
    return state


def _parse_row(row_no: int, values: dict[str, str], state: dict[str, Any]) -> dict[str, Any] | None:
    email = normalize_email(values.get("email", ""))
    try:
        validate_email(email)
    except ValidationError:
        _add_error(state, row_no, "email", _("Enter a valid email address."))
        return None
    parsed: dict[str, Any] = {"email": email}
    if values.get("first_name"):
        parsed["first_name"] = clean_name(values["first_name"])[:100]
    if values.get("frequency"):
        if values["frequency"] not in Frequency.values:
            _add_error(
                state,
                row_no,
                "frequency",
                _("Unknown frequency “%(value)s”; use one of: %(known)s.")
                % {"value": values["frequency"][:50], "known": ", ".join(Frequency.values)},
            )
            return None
        parsed["frequency"] = values["frequency"]
    if values.get("topics"):
        topics = [t for t in _TOPIC_SPLIT.split(values["topics"]) if t]
        unknown = [t for t in topics if t not in petmail_settings.TOPICS]
        if unknown:
            _add_error(
                state,
                row_no,
                "topics",
                _("Unknown topic “%(value)s”; use one of: %(known)s.")
                % {"value": unknown[0][:50], "known": ", ".join(petmail_settings.TOPICS)},
            )
            return None
        parsed["topics"] = list(dict.fromkeys(topics))
    if values.get("language"):
        try:
            parsed["language"] = translation.get_supported_language_variant(
                values["language"].lower()
            )
        except LookupError:
            _add_error(
                state,
                row_no,
                "language",
                _("Unknown language “%(value)s”.") % {"value": values["language"][:20]},
            )
            return None
    return parsed


_UPDATED = ("first_name", "topics", "frequency", "language")


def _flush(batch: dict[str, tuple[int, dict[str, Any]]], basis: str, state: dict[str, Any]) -> None:
    """Upsert one batch: five statements whatever its size."""
    emails = list(batch)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            row["email"]: row
            for row in NewsletterSubscription.objects.filter(email__in=emails).values(
                "email", *_UPDATED
            )
        }
        new = [e for e in emails if e not in existing]
        suppressed = set(
            Suppression.objects.filter(email_hash__in=[email_hash(e) for e in new]).values_list(
                "email_hash", flat=True
            )
        )
        objects = []
        created: list[str] = []
        for email in emails:
            row_no, values = batch[email]
            if email in existing:
                merged = {**existing[email], **values}
            elif email_hash(email) in suppressed:
                _add_error(
                    state, row_no, "email", _("This address is suppressed and cannot be imported.")
                )
                continue
            else:
                created.append(email)
                merged = {
                    "first_name": "",
                    "topics": list(petmail_settings.DEFAULT_TOPICS),
                    "frequency": Frequency.WEEKLY.value,
                    "language": petmail_settings.DEFAULT_LANGUAGE,
                    **values,
                }
            objects.append(
                NewsletterSubscription(
                    email=email,
                    email_hash=email_hash(email),
                    first_name=merged["first_name"],
                    topics=merged["topics"],
                    frequency=merged["frequency"],
                    language=merged["language"],
                    status=SubscriptionStatus.ACTIVE if basis else SubscriptionStatus.PENDING,
                    confirmed_at=now if basis else None,
                    source=SubscriptionSource.IMPORT,
                    consent_form=petmail_settings.CONSENT_FORM_VERSION,
                    updated_at=now,
                )
            )
        NewsletterSubscription.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["email"],
            update_fields=[*_UPDATED, "updated_at"],
        )
        ids = dict(
            NewsletterSubscription.objects.filter(email__in=created).values_list("email", "pk")
        )
        events = (
            [ConsentEventType.SUBSCRIBED, ConsentEventType.CONFIRMED]
            if basis
            else [ConsentEventType.SUBSCRIBED]
        )
        details = {"import": state["id"], "basis": basis} if basis else {"import": state["id"]}
        ConsentEvent.objects.bulk_create(
            ConsentEvent(
                subscription_id=ids[email],
                event=event,
                source=SubscriptionSource.IMPORT,
                form=petmail_settings.CONSENT_FORM_VERSION[:100],
                details=details,
            )
            for email in created
            for event in events
        )
    state["created"] += len(created)
    state["updated"] += len(objects) - len(created)
    if not basis and created:
        state["confirmation_emails"] += _send_confirmations(ids.values())


def _send_confirmations(ids: Iterable[int]) -> int:
    sent = 0
    for subscription in NewsletterSubscription.objects.filter(pk__in=list(ids)):
        try:
            send_confirmation_email(subscription)
        except Exception:  # the subscriber can ask again; one bad address must not stop the rest
            logger.exception(
                "Could not send the confirmation email to subscription %s", subscription.pk
            )
        else:
            sent += 1
    return sent


# --- export ---------------------------------------------------------------------------------


def escape_cell(value: Any) -> str:
    """A cell as text, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        text = ";".join(str(v) for v in value)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(queryset: Any) -> Iterator[str]:
    """CSV lines (header first) of ``SUBSCRIPTION_FIELDS``, read in chunks: for a
    ``StreamingHttpResponse``."""
    writer = csv.writer(_Echo())
    yield writer.writerow(SUBSCRIPTION_FIELDS)
    for row in queryset.order_by("pk").values_list(*SUBSCRIPTION_FIELDS).iterator(chunk_size=2000):
        yield writer.writerow([escape_cell(v) for v in row])
