"""Schemathesis against the JSON API's own OpenAPI document: requests generated from the
schema (valid and not) must never get a server error."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

MAX_EXAMPLES = 25


def test_no_api_operation_answers_with_a_server_error(live_server: str,
                                                      live_token: str) -> None:
    headers = {"Authorization": f"Bearer {live_token}"}
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/schema/openapi.json",
                                           headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    api = [op for op in operations if op.path.startswith("/api/v1/")]
    assert len(api) > 25, [op.path for op in operations]
    failures: list[str] = []
    statuses: list[int] = []
    for operation in api:

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def probe(case: Any) -> None:
            response = case.call(base_url=live_server, headers=headers, timeout=30)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> "
                                f"{response.status_code} {response.text[:200]}")

        probe()
    assert not failures, failures
    assert len(statuses) >= len(api) * 5 and any(code < 300 for code in statuses)
