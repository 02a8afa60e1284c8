"""Every filter of GET /api/tasks, alone, combined with each other and with q."""

from datetime import datetime, timedelta, timezone

import pytest
from django.utils import timezone as dj_timezone

from tasks_app.services import task_complete, task_create

pytestmark = pytest.mark.django_db

JAN = datetime(2027, 1, 1, tzinfo=timezone.utc)


def titles(client, **params):
    response = client.get("/api/tasks", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return sorted(item["title"] for item in body["items"])


@pytest.fixture
def tasks(alice):
    now = dj_timezone.now()
    made = {
        "p1 work due jan 1": task_create(user=alice, title="Quarterly report", priority="P1", tags=["work"],
                                         due_at=JAN),
        "p2 work+urgent due jan 2": task_create(user=alice, title="Expense report", priority="P2",
                                                tags=["work", "urgent"], due_at=JAN + timedelta(days=1)),
        "p3 home no due": task_create(user=alice, title="Fix the sink", priority="P3", tags=["home"]),
        "p4 overdue": task_create(user=alice, title="Return library books", priority="P4",
                                  due_at=now - timedelta(days=2)),
        "p1 done overdue": task_create(user=alice, title="Pay the report fee", priority="P1", tags=["urgent"],
                                       due_at=now - timedelta(days=3)),
    }
    task_complete(task=made["p1 done overdue"])
    return made


def test_priority_filter_is_repeatable(alice_api, tasks):
    assert titles(alice_api, priority="P1") == ["Pay the report fee", "Quarterly report"]
    assert titles(alice_api, priority=["P1", "P2"]) == ["Expense report", "Pay the report fee", "Quarterly report"]


def test_priority_filter_ignores_case(alice_api, tasks):
    assert titles(alice_api, priority="p4") == ["Return library books"]


def test_tag_filter_requires_every_tag(alice_api, tasks):
    assert titles(alice_api, tag="work") == ["Expense report", "Quarterly report"]
    assert titles(alice_api, tag=["work", "urgent"]) == ["Expense report"]
    assert titles(alice_api, tag=["WORK", "#Urgent"]) == ["Expense report"]


def test_an_unknown_tag_matches_nothing(alice_api, tasks):
    assert titles(alice_api, tag="nope") == []
    assert titles(alice_api, tag=["work", "nope"]) == []


def test_another_users_tag_of_the_same_name_does_not_count(alice_api, bob, tasks):
    task_create(user=bob, title="Bob's", tags=["work"])
    assert titles(alice_api, tag="work") == ["Expense report", "Quarterly report"]


def test_completed_filter(alice_api, tasks):
    assert titles(alice_api, completed="true") == ["Pay the report fee"]
    assert len(titles(alice_api, completed="false")) == 4


def test_due_range_is_half_open(alice_api, tasks):
    jan2 = (JAN + timedelta(days=1)).isoformat()
    assert titles(alice_api, due_after=JAN.isoformat(), due_before=jan2) == ["Quarterly report"]
    assert titles(alice_api, due_after=jan2) == ["Expense report"]


def test_due_filters_read_naive_times_in_the_server_zone(alice_api, tasks, settings):
    # JAN is midnight UTC: 19:00 the day before in New York (UTC-5 in winter).  Read as UTC,
    # these bounds would miss it.
    settings.TIME_ZONE = "America/New_York"
    assert titles(alice_api, due_after="2026-12-31T19:00:00", due_before="2026-12-31T19:00:01") == [
        "Quarterly report"]
    assert titles(alice_api, due_after="2027-01-01T00:00:00", due_before="2027-01-01T00:00:01") == []


def test_due_filters_read_naive_times_in_the_users_zone_on_both_sides_of_a_dst_change(alice, alice_api, settings):
    from tasks_app.services.profiles import profile_ensure, profile_update

    settings.TIME_ZONE = "UTC"
    profile_ensure(user=alice)
    profile_update(user=alice, timezone="Europe/Berlin")  # UTC+1, then UTC+2 from 2027-03-28
    task_create(user=alice, title="Before the change", due_at=datetime(2027, 3, 27, 8, 0, tzinfo=timezone.utc))
    task_create(user=alice, title="After the change", due_at=datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc))
    assert titles(alice_api, due_after="2027-03-27T09:00:00", due_before="2027-03-27T09:00:01") == [
        "Before the change"]
    assert titles(alice_api, due_after="2027-03-29T09:00:00", due_before="2027-03-29T09:00:01") == [
        "After the change"]


def test_overdue_means_open_and_past_due(alice_api, tasks):
    assert titles(alice_api, overdue="true") == ["Return library books"]
    assert titles(alice_api, overdue="false") == ["Expense report", "Fix the sink", "Pay the report fee",
                                                  "Quarterly report"]


def test_has_due(alice_api, tasks):
    assert titles(alice_api, has_due="false") == ["Fix the sink"]
    assert len(titles(alice_api, has_due="true")) == 4


def test_filters_combine_with_each_other(alice_api, tasks):
    assert titles(alice_api, priority=["P1", "P2"], tag="urgent", completed="false") == ["Expense report"]
    assert titles(alice_api, has_due="true", completed="false", priority="P1") == ["Quarterly report"]


def test_filters_combine_with_q(alice_api, tasks):
    assert titles(alice_api, q="report") == ["Expense report", "Pay the report fee", "Quarterly report"]
    assert titles(alice_api, q="report", completed="false", priority="P1") == ["Quarterly report"]
    assert titles(alice_api, q="report", tag="urgent") == ["Expense report", "Pay the report fee"]
    assert titles(alice_api, q="report", due_before=JAN.isoformat()) == ["Pay the report fee"]
    assert titles(alice_api, q="report", overdue="false", has_due="true", sort="due_at") == [
        "Expense report", "Pay the report fee", "Quarterly report"]


def test_filters_never_reach_another_users_tasks(bob_api, tasks):
    assert titles(bob_api, q="report", priority="P1", tag="work") == []
    assert titles(bob_api) == []
