"""The fast path for big order and payment files: validated rows inserted in batches.

The rows come from the same validation as the service path (:mod:`salesloop.dataio.handlers`),
with ``amount_base`` computed by the same rule (the dated exchange rate). Ids are allocated up
front so each record gets the same audit row ``order_create`` / ``payment_create`` would write.
SQLite takes multi-row ``INSERT … VALUES`` statements on the driver's connection; PostgreSQL
takes ``COPY`` in binary format. Values are converted exactly as the ORM converts them. A test
imports the same file both ways and compares the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from django.db import connection
from django.utils import timezone

from salesloop.common.models import AuditEvent
from salesloop.orders.models import Order, Payment

# Rows per SQLite statement: one statement of many rows costs much less than as many one-row
# statements (one parse and one AUTOINCREMENT update instead of one per row).
SQLITE_ROWS_PER_STATEMENT = 500


def existing_ids(model: type, lookups: dict[str, Sequence[str]]) -> list[int]:
    """Primary keys of the rows whose column ``c`` holds one of ``lookups[c]`` (for any ``c``).

    One query per batch of values, without building model instances: in a new file nothing
    matches, and this is asked for every chunk.
    """
    lookups = {column: list(dict.fromkeys(values)) for column, values in lookups.items() if values}
    if not lookups:
        return []
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    found: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            where = " OR ".join(f"{qn(column)} = ANY(%s)" for column in lookups)
            cursor.execute(f"SELECT id FROM {table} WHERE {where}", list(lookups.values()))
            return [row[0] for row in cursor.fetchall()]
        for column, values in lookups.items():
            for start in range(0, len(values), 900):
                batch = values[start : start + 900]
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(f"SELECT id FROM {table} WHERE {qn(column)} IN ({marks})", batch)
                found.extend(row[0] for row in cursor.fetchall())
    return list(dict.fromkeys(found))


def _allocate_ids(model: type, count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
        start = cursor.fetchone()[0] + 1
        # SQLite's AUTOINCREMENT counter follows the largest id inserted.
        return list(range(start, start + count))


def _pg_types(table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of ``columns`` (for a binary COPY), asked once per connection."""
    cache = connection.__dict__.setdefault("_salesloop_copy_types", {})
    key = (table, tuple(columns))
    if key not in cache:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                [connection.ops.quote_name(table)],
            )
            oids = dict(cursor.fetchall())
        cache[key] = [oids[c] for c in columns]
    return cache[key]


def _jsonb_text_dumper(oid: int) -> type:
    """Dumps text that already is JSON into the binary jsonb format (version 1, then the text)."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class JsonbTextDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            return b"\x01" + obj.encode()

    JsonbTextDumper.oid = oid
    return JsonbTextDumper


def _insert(model: type, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (values already as the driver takes them; JSON columns as JSON text)."""
    if not rows:
        return
    table = model._meta.db_table
    qn = connection.ops.quote_name
    quoted = ", ".join(qn(c) for c in columns)
    if connection.vendor == "postgresql":
        oids = _pg_types(table, columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            from psycopg.postgres import types as pg_types

            jsonb = pg_types["jsonb"].oid
            if jsonb in oids:
                raw.adapters.register_dumper(None, _jsonb_text_dumper(jsonb))
            with raw.copy(f"COPY {qn(table)} ({quoted}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(oids)
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        return
    connection.ensure_connection()
    db: sqlite3.Connection = connection.connection
    if not getattr(connection, "_salesloop_bulk_cache", False):
        # A bigger page cache for the duration of the connection: index updates of a million
        # rows otherwise spill the default 2 MB cache on every batch.
        db.execute("PRAGMA cache_size = -65536")
        connection._salesloop_bulk_cache = True
    width = len(columns)
    limit = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(db, "getlimit") else 999
    step = max(1, min(SQLITE_ROWS_PER_STATEMENT, limit // width))
    one = "(" + ", ".join(["?"] * width) + ")"
    head = f"INSERT INTO {qn(table)} ({quoted}) VALUES "
    full = head + ", ".join([one] * step)
    for start in range(0, len(rows), step):
        batch = rows[start : start + step]
        sql = full if len(batch) == step else head + ", ".join([one] * len(batch))
        db.execute(sql, list(chain.from_iterable(batch)))


class _Adapt:
    """Python values → what the database driver expects, as the ORM would store them."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"

    def datetime(self, value: Any) -> Any:
        return connection.ops.adapt_datetimefield_value(value) if self.sqlite else value


def _audit_rows(
    actor_id: int | None,
    now_db: Any,
    action: str,
    subject_type: str,
    ids: list[int],
    changes: list[str],
) -> list[tuple[Any, ...]]:
    kind = AuditEvent.Kind.CREATE.value
    return [
        (now_db, actor_id, kind, action, subject_type, str(pk), change, None)
        for pk, change in zip(ids, changes, strict=True)
    ]


AUDIT_COLUMNS = ("at", "actor_id", "kind", "action", "subject_type", "subject_id", "changes", "ip")


class _JsonStrings(dict[Any, str]):
    """json.dumps of the few distinct strings of a column (currencies, statuses), remembered."""

    def __missing__(self, key: Any) -> str:
        value = self[key] = json.dumps(key)
        return value


def order_changes(
    customer_id: Any, owner_id: Any, signed_on: str, amount: Any, currency: Any, status: Any
) -> str:
    """The audit ``changes`` of a new order: what ``json.dumps`` makes of the service's dict."""
    return json.dumps(
        {
            "customer": [None, customer_id],
            "owner": [None, owner_id],
            "signed_on": [None, signed_on],
            "amount": [None, str(amount)],
            "currency": [None, currency],
            "status": [None, status],
        }
    )


def insert_orders(rows: list[dict[str, Any]], *, actor: Any) -> None:
    adapt = _Adapt()
    sqlite = adapt.sqlite
    now = timezone.now()
    now_db = adapt.datetime(now)
    ids = _allocate_ids(Order, len(rows))
    columns = (
        "id",
        "created_at",
        "updated_at",
        "number",
        "external_id",
        "customer_id",
        "owner_id",
        "opportunity_id",
        "signed_on",
        "amount",
        "currency",
        "amount_base",
        "product_line_id",
        "status",
    )
    out = []
    changes = []
    quoted = _JsonStrings()
    for pk, r in zip(ids, rows, strict=True):
        customer_id = r["customer_id"]
        owner_id = r["owner"].pk
        line = r["product_line"]
        signed_on = r["signed_on"]
        day = signed_on.isoformat()
        amount = r["amount"]
        amount_text = str(amount)
        currency = r["currency"]
        status = r["status"]
        out.append(
            (
                pk,
                now_db,
                now_db,
                r["number"],
                r["external_id"],
                customer_id,
                owner_id,
                r["opportunity_id"],
                day if sqlite else signed_on,  # Django stores a date in SQLite as its ISO text
                amount_text if sqlite else amount,  # and a Decimal as its str()
                currency,
                str(r["amount_base"]) if sqlite else r["amount_base"],
                line.pk if line is not None else None,
                status,
            )
        )
        if customer_id.__class__ is int and owner_id.__class__ is int:
            # json.dumps of the dict below, written out: ints as digits, the date's ISO text and a
            # Decimal's str() need no escaping (digits, "-", ".", "E", "+", "Infinity", "NaN").
            changes.append(
                f'{{"customer": [null, {customer_id}], "owner": [null, {owner_id}], '
                f'"signed_on": [null, "{day}"], "amount": [null, "{amount_text}"], '
                f'"currency": [null, {quoted[currency]}], "status": [null, {quoted[status]}]}}'
            )
        else:
            changes.append(order_changes(customer_id, owner_id, day, amount, currency, status))
    _insert(Order, columns, out)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    _insert(
        AuditEvent,
        AUDIT_COLUMNS,
        _audit_rows(actor_id, now_db, "order.create", "orders.order", ids, changes),
    )


def insert_payments(rows: list[dict[str, Any]], *, actor: Any) -> None:
    adapt = _Adapt()
    sqlite = adapt.sqlite
    now = timezone.now()
    now_db = adapt.datetime(now)
    ids = _allocate_ids(Payment, len(rows))
    columns = (
        "id",
        "created_at",
        "updated_at",
        "order_id",
        "paid_on",
        "amount",
        "currency",
        "amount_base",
        "method",
        "external_id",
    )
    out = []
    changes = []
    for pk, r in zip(ids, rows, strict=True):
        out.append(
            (
                pk,
                now_db,
                now_db,
                r["order_id"],
                r["paid_on"].isoformat() if sqlite else r["paid_on"],
                str(r["amount"]) if sqlite else r["amount"],
                r["currency"],
                str(r["amount_base"]) if sqlite else r["amount_base"],
                r["method"],
                r["external_id"],
            )
        )
        changes.append(
            json.dumps(
                {
                    "order": [None, r["order_id"]],
                    "paid_on": [None, r["paid_on"].isoformat()],
                    "amount": [None, str(r["amount"])],
                    "currency": [None, r["currency"]],
                }
            )
        )
    _insert(Payment, columns, out)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    _insert(
        AuditEvent,
        AUDIT_COLUMNS,
        _audit_rows(actor_id, now_db, "payment.create", "orders.payment", ids, changes),
    )
