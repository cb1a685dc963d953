"""What the API tests share: waiting for a run, reading a problem document."""

from __future__ import annotations


async def finished(client, run_id: str) -> dict:
    await client.service.runs[run_id].task  # the run's own task: no polling
    return await (await client.get(f"/api/runs/{run_id}")).json()


async def problem(response, status: int, field: str | None = None) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["status"] == status and body["detail"]
    if field:
        assert body["field"] == field
    return body
