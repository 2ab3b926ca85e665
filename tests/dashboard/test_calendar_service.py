"""The calendar service: local days in the user's time zone, month and week grids, tenant scoping."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from postpost.errors import InvalidInput
from postpost.services import calendar
from postpost.services.local_time import local_input_value, local_to_utc, zone
from tests.dashboard.posts_support import client, make_user

__all__ = ["client", "make_user"]

NOW = datetime(2030, 11, 10, 12, 0, tzinfo=UTC)


async def schedule(client, user, platform_id, when, content="on the calendar"):
    body = {"content": content, "platforms": [platform_id], "scheduledTime": when}
    r = await client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 200, r.text
    return r.json()["postGroupId"]


@pytest.fixture
def build(dash_database):
    async def run(user, view, anchor, tz_name):
        async with dash_database.session() as session:
            return await calendar.build(session, user.id, view=view, anchor=anchor, tz=zone(tz_name), now=NOW)

    return run


def days_with(cal, group_id):
    return [d.day for week in cal.weeks for d in week if any(e.group.id == group_id for e in d.entries)]


async def test_a_post_lands_on_its_local_day(client, make_user, make_connection, build):
    user = await make_user()
    pid = await make_connection(user)
    late = await schedule(client, user, pid, "2030-11-14T23:30:00Z")
    utc = await build(user, "month", date(2030, 11, 1), "UTC")
    tokyo = await build(user, "month", date(2030, 11, 1), "Asia/Tokyo")
    assert days_with(utc, late) == [date(2030, 11, 14)]
    assert days_with(tokyo, late) == [date(2030, 11, 15)]
    (entry,) = next(d for w in tokyo.weeks for d in w if d.day == date(2030, 11, 15)).entries
    assert entry.at.strftime("%H:%M") == "08:30" and entry.group.status == "scheduled"


async def test_month_grid_is_whole_weeks_from_monday(make_user, build):
    user = await make_user()
    cal = await build(user, "month", date(2030, 11, 20), "Europe/Berlin")
    assert cal.title == "November 2030"
    assert cal.first == date(2030, 10, 28) and cal.first.weekday() == 0
    assert all(len(week) == 7 for week in cal.weeks) and len(cal.weeks) == 5
    assert cal.weeks[-1][-1].day == date(2030, 12, 1)
    assert [d.in_range for d in cal.weeks[0][:5]] == [False, False, False, False, True]
    assert (cal.previous, cal.next) == (date(2030, 10, 1), date(2030, 12, 1))
    assert [d.day for w in cal.weeks for d in w if d.today] == [date(2030, 11, 10)]


async def test_week_view_and_the_edges_of_the_range(client, make_user, make_connection, build):
    user = await make_user()
    pid = await make_connection(user)
    # Monday 2030-11-11 00:00 in New York is 05:00 UTC; a post a minute earlier is the week before
    inside = await schedule(client, user, pid, "2030-11-11T05:00:00Z")
    before = await schedule(client, user, pid, "2030-11-11T04:59:00Z")
    last = await schedule(client, user, pid, "2030-11-18T04:59:00Z")
    cal = await build(user, "week", date(2030, 11, 13), "America/New_York")
    assert len(cal.weeks) == 1 and cal.first == date(2030, 11, 11)
    assert days_with(cal, inside) == [date(2030, 11, 11)]
    assert days_with(cal, last) == [date(2030, 11, 17)]
    assert days_with(cal, before) == []
    assert (cal.previous, cal.next) == (date(2030, 11, 4), date(2030, 11, 18))
    assert cal.title == "11 Nov – 17 Nov 2030"


async def test_only_the_users_own_scheduled_groups(client, make_user, make_connection, build):
    owner, other = await make_user(), await make_user()
    mine = await schedule(client, owner, await make_connection(owner), "2030-11-05T10:00:00Z")
    await schedule(client, other, await make_connection(other), "2030-11-05T10:00:00Z")
    draft = await client.post(
        "/api/v1/create-post",
        headers=owner.headers,
        json={"content": "no time", "platforms": [await make_connection(owner)]},
    )
    cal = await build(owner, "month", date(2030, 11, 1), "UTC")
    shown = [e.group.id for w in cal.weeks for d in w for e in d.entries]
    assert shown == [mine] and draft.json()["postGroupId"] not in shown
    assert not cal.truncated


def test_query_values_are_checked():
    today = date(2030, 1, 2)
    assert calendar.parse_view(None) == "month" and calendar.parse_view("Week") == "week"
    assert calendar.parse_day("", today) == today
    assert calendar.parse_day("2030-05", today) == date(2030, 5, 1)
    with pytest.raises(InvalidInput, match="^Invalid view. Must be one of: month, week$"):
        calendar.parse_view("year")
    for bad in ("2030-13-01", "yesterday", "0001-01-01", "9999-12-01"):
        with pytest.raises(InvalidInput, match="^Invalid date. Use YYYY-MM-DD$"):
            calendar.parse_day(bad, today)


def test_local_times_convert_to_utc_and_back():
    berlin = zone("Europe/Berlin")
    assert local_to_utc("2030-07-01T09:30", berlin) == datetime(2030, 7, 1, 7, 30, tzinfo=UTC)
    assert local_to_utc("2030-12-01T09:30:15", berlin) == datetime(2030, 12, 1, 8, 30, 15, tzinfo=UTC)
    assert local_input_value(datetime(2030, 7, 1, 7, 30, tzinfo=UTC), berlin) == "2030-07-01T09:30"
    assert local_input_value(None, berlin) == ""
    assert zone("").key == "UTC"
    with pytest.raises(InvalidInput, match="^Unknown time zone: Mars/Olympus$"):
        zone("Mars/Olympus")
    with pytest.raises(InvalidInput, match="^Unknown time zone: ../etc$"):
        zone("../etc")
    with pytest.raises(InvalidInput, match="^Invalid scheduled time format$"):
        local_to_utc("tomorrow", berlin)
