"""What the consumer made of a load test, per event type: the answer to "did we lose anything".

Locust counts requests and failures; a tally says what each request came to at the consumer
(acknowledged, refused, timed out, unreachable) and what faults kept from it or sent twice. Each
worker keeps one and the master adds them up; the summary puts them beside Locust's own figures
(requests, failures, latency percentiles) for each event type. Nothing here imports Locust.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every way a request can end, once: the tally, the summary, its table and the docs read this.
OUTCOMES: dict[str, str] = {
    "acknowledged": "the consumer answered 2xx",
    "refused": "it answered, outside 2xx",
    "timed_out": "no answer within the target's timeouts",
    "unreachable": "no connection, or it closed without an answer",
}
# what faults did besides: events never sent (drop; held back by reorder when the test stopped), copies sent
FAULTED: dict[str, str] = {
    "dropped": "never sent (a drop fault)",
    "held": "held back by a reorder fault when the test stopped",
    "copies": "sent again with the same id (a duplicate fault)",
}
PERCENTILES = (0.5, 0.95, 0.99)


class Tally:
    """Counts by request name (the event type) and by outcome or fault."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, name: str, what: str, n: int = 1) -> None:
        row = self.counts.get(name)
        if row is None:
            row = self.counts[name] = {}
        row[what] = row.get(what, 0) + n

    def merge(self, data: Mapping[str, Mapping[str, int]]) -> None:
        """Add another tally's ``as_dict`` (a worker's, on the master)."""
        for name, row in data.items():
            for what, n in row.items():
                self.add(str(name), str(what), int(n))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {name: dict(row) for name, row in self.counts.items()}

    def clear(self) -> None:
        self.counts.clear()


def summary(
    tally: Tally,
    requests: Mapping[str, Mapping[str, Any]],
    total: Mapping[str, Any],
    about: Mapping[str, Any],
) -> dict[str, Any]:
    """Locust's figures per request name (``requests``: sent, failures, percentiles) and in all
    (``total``) beside the tally's, with where the two disagree (a worker whose report never came)."""
    rows = []
    keys = [*OUTCOMES, *FAULTED]
    for name in sorted(set(requests) | set(tally.counts)):
        ours = tally.counts.get(name, {})
        figures = dict(requests.get(name, {}))
        row = {"type": name, **{k: figures.get(k, 0) for k in ("sent", "failures")}}
        row.update({k: ours.get(k, 0) for k in keys})
        row["latency_ms"] = figures.get("latency_ms", {})
        rows.append(row)
    totals = {k: sum(r[k] for r in rows) for k in ("sent", "failures", *keys)}
    totals["latency_ms"] = dict(total.get("latency_ms", {}))
    answered = sum(totals[k] for k in OUTCOMES)
    return {
        **about,
        "types": rows,
        "total": totals,
        "seconds": total.get("seconds"),
        "per_second": round(totals["sent"] / total["seconds"], 1) if total.get("seconds") else None,
        "counted_alike": answered == totals["sent"],
        "ok": totals["acknowledged"] == totals["sent"] and answered == totals["sent"] and totals["sent"] > 0,
    }


def summary_table(data: Mapping[str, Any]) -> str:
    """The summary for people: one line per event type, then the totals and what disagrees."""
    head = ["event type", "sent", "failed", "acked", "refused", "timed out", "unreach.", "dropped", "copies"]
    head += [f"p{round(p * 100)} ms" for p in PERCENTILES]
    lines = [[*head]]
    for row in [*data["types"], {"type": "total", **data["total"]}]:
        latency = row.get("latency_ms") or {}
        cells = [row["type"], row["sent"], row["failures"], *(row[k] for k in OUTCOMES), row["dropped"], row["copies"]]
        cells += [_ms(latency.get(f"p{round(p * 100)}")) for p in PERCENTILES]
        lines.append([str(c) for c in cells])
    width = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [
        "  ".join(cell.ljust(width[i]) if i == 0 else cell.rjust(width[i]) for i, cell in enumerate(line))
        for line in lines
    ]
    text.insert(1, "  ".join("-" * w for w in width))
    text.insert(len(text) - 1, "  ".join("-" * w for w in width))
    vendors = ", ".join(f"{v}:{w:g}" for v, w in (data.get("vendors") or {}).items())
    title = f"idp-emulator load: {data.get('scenario', '?')} as {vendors} (seed {data.get('seed', '?')})"
    out = [title, *text]
    if data.get("per_second") is not None:
        out.append(f"{data['total']['sent']} requests in {data['seconds']:.1f} s: {data['per_second']} a second")
    held = data["total"]["held"]
    if held:
        out.append(f"{held} events were held back by a reorder fault when the test stopped (never sent)")
    if not data["counted_alike"]:
        answered = sum(data["total"][k] for k in OUTCOMES)
        out.append(
            f"Locust counted {data['total']['sent']} requests and the users {answered}: a worker's last report did"
            " not reach the master"
        )
    for name in data.get("missing_workers") or []:
        out.append(f"worker {name} never sent its tally: its counts are missing")
    return "\n".join(out) + "\n"


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:g}"
