"""The scenario clock's times as vendors write them: the integer path is the datetime path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.play.clock import EPOCH, MILLISECOND, epoch_ms, iso_of_ms, iso_utc

MOMENTS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999))


@settings(max_examples=400, derandomize=True)
@given(MOMENTS)
def test_a_time_in_milliseconds_is_written_as_its_datetime_is(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    assert iso_of_ms(epoch_ms(moment)) == iso_utc(moment)


@settings(max_examples=400, derandomize=True)
@given(MOMENTS)
def test_milliseconds_since_the_epoch_are_the_timedelta_division(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    assert epoch_ms(moment) == (moment - EPOCH) // MILLISECOND


def test_the_edges_of_days_years_and_the_epoch() -> None:
    for ms in (0, -1, 999, 1000, 86_399_999, 86_400_000, -86_400_000, 951_782_400_000, 253_402_300_799_999):
        assert iso_of_ms(ms) == iso_utc(EPOCH + timedelta(milliseconds=ms)), ms
    assert iso_of_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_of_ms(-1) == "1969-12-31T23:59:59.999Z"
