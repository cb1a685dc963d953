"""The redactor's remembered answers give exactly what redacting anew gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.delivery.redact import REDACTED, SENSITIVE_NAME, Redactor

SECRET = "s3cr3t-token-value"
names = st.sampled_from(["Content-Type", "Date", "Server", "Set-Cookie", "X-Api-Key", "Location", "Echo"])
values = st.sampled_from(
    ["text/plain", "Wed, 02 Dec 2026 15:00:00 GMT", f"Bearer {SECRET}", "https://x/?code=abc", SECRET.upper(), "ok"]
)
# as a receiver answers: headers in any order, so two answers may hold the same headers differently ordered
answers = st.lists(
    st.lists(st.tuples(names, values), max_size=5, unique_by=lambda pair: pair[0]).map(dict), min_size=1, max_size=8
)


def fresh(headers: dict[str, str]) -> dict[str, str]:
    """What a redactor that has seen nothing before makes of ``headers``."""
    return Redactor([SECRET]).headers(headers)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(answers)
def test_a_redactor_answers_each_headers_as_a_fresh_one_would(sequence: list[dict[str, str]]) -> None:
    redactor = Redactor([SECRET])
    for headers in [*sequence, *sequence]:  # each again: what it remembered is what it answers
        got = redactor.headers(headers)
        assert list(got.items()) == list(fresh(headers).items())  # the same headers, in the same order
        got["mutated"] = "by the caller"  # a caller's change never reaches a later answer


def test_headers_named_like_credentials_and_secrets_in_values_are_hidden() -> None:
    redactor = Redactor([SECRET])
    for _ in range(2):  # the second answer comes from what the first remembered
        got = redactor.headers({"Set-Cookie": "a=b", "Echo": f"Bearer {SECRET}", "Date": "today"})
        assert got == {"Set-Cookie": REDACTED, "Echo": f"Bearer {REDACTED}", "Date": "today"}
    assert SENSITIVE_NAME.search("Set-Cookie")
