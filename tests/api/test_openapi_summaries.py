"""The API docs list each operation by a short name, not the view function's title."""

from __future__ import annotations

from salesloop.api import api


def test_operations_read_as_short_sentences():
    schema = api.get_openapi_schema()
    summaries = {
        (path, method): op["summary"]
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "summary" in op
    }
    assert summaries[("/api/customers/", "get")] == "Customer list"
    assert summaries[("/api/targets/{target_id}/take-sum", "post")] == "Target take sum"
    assert not [s for s in summaries.values() if s.endswith("Route") or s != s[0] + s[1:].lower()]
