"""What's next (GET /api/plan/today) and saved filters (/api/filters, GET /api/tasks?filter=…),
through the REST API, as their owners and as someone else."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import MAX_SAVED_FILTERS_PER_USER, SavedFilter, Task

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def post(api, path, body):
    return api.post(path, body, content_type="application/json")


# --------------------------------------------------------------------------- plan for today


def test_plan_ranks_overdue_then_due_today_then_priority_each_with_a_reason(alice, alice_api):
    services.profile_update(user=alice, timezone="Europe/Berlin")
    now = timezone.now()
    local_now = now.astimezone(BERLIN)
    end_of_today = datetime.combine(local_now.date() + timedelta(days=1), datetime.min.time(), tzinfo=BERLIN)
    later_today = min(now + timedelta(minutes=30), end_of_today - timedelta(minutes=1))
    services.task_create(user=alice, title="Someday", priority="P4")
    services.task_create(user=alice, title="Next month", priority="P3", due_at=now + timedelta(days=30))
    services.task_create(user=alice, title="Urgent undated", priority="P1")
    services.task_create(user=alice, title="Today", priority="P3", due_at=later_today)
    services.task_create(user=alice, title="A bit late", priority="P3", due_at=now - timedelta(hours=3))
    services.task_create(user=alice, title="Very late", priority="P1", due_at=now - timedelta(days=2, hours=1))
    done = services.task_create(user=alice, title="Done late", due_at=now - timedelta(days=5))
    services.task_complete(task=done)

    body = alice_api.get("/api/plan/today").json()
    assert body["timezone"] == "Europe/Berlin" and body["date"] == local_now.date().isoformat()
    titles = [item["task"]["title"] for item in body["items"]]
    assert titles == ["Very late", "A bit late", "Today", "Urgent undated"]
    reasons = [item["reason"] for item in body["items"]]
    assert reasons[0] == "overdue by 2 days · P1"
    assert reasons[1] == "overdue by 3 hours · P3"
    assert reasons[2] == f"due today at {later_today.astimezone(BERLIN):%H:%M} · P3"
    assert reasons[3].startswith("P1 · no due date")
    assert [item["rank"] for item in body["items"]] == [1, 2, 3, 4]
    assert alice_api.get("/api/plan/today?limit=2").json()["items"][1]["task"]["title"] == "A bit late"


@pytest.mark.parametrize("limit", [0, 51, "ten"])
def test_plan_size_is_bounded(alice_api, limit):
    assert alice_api.get(f"/api/plan/today?limit={limit}").status_code == 422


def test_plan_shows_only_your_tasks(alice, bob_api):
    services.task_create(user=alice, title="Alice's", priority="P1", due_at=timezone.now() - timedelta(days=1))
    assert bob_api.get("/api/plan/today").json()["items"] == []


# --------------------------------------------------------------------------- saved filters


def test_a_saved_filter_lists_what_its_parameters_list(alice, alice_api):
    services.task_create(user=alice, title="Report", tags=["work"], priority="P1")
    services.task_create(user=alice, title="Slides", tags=["work"], priority="P4")
    services.task_create(user=alice, title="Groceries", tags=["home"], priority="P1")
    created = post(alice_api, "/api/filters", {"name": "Urgent work",
                                               "params": {"tag": ["work"], "priority": ["P1", "P2"]}})
    assert created.status_code == 201
    saved = created.json()
    assert saved["params"] == {"tag": ["work"], "priority": ["P1", "P2"]}
    for ref in (saved["id"], "urgent work", "Urgent%20work"):
        listed = alice_api.get(f"/api/tasks?filter={ref}").json()
        assert [task["title"] for task in listed["items"]] == ["Report"], ref
    # Parameters given beside the filter override its own.
    assert alice_api.get("/api/tasks?filter=Urgent%20work&priority=P4").json()["items"][0]["title"] == "Slides"
    assert [f["name"] for f in alice_api.get("/api/filters").json()] == ["Urgent work"]


def test_a_saved_this_week_filter_means_the_week_it_is_applied_in(alice, alice_api):
    services.task_create(user=alice, title="Soon", due_at=timezone.now() + timedelta(minutes=5))
    services.task_create(user=alice, title="Far", due_at=timezone.now() + timedelta(days=40))
    post(alice_api, "/api/filters", {"name": "this week", "params": {"due_window": "this_week"}})
    titles = [task["title"] for task in alice_api.get("/api/tasks?filter=this%20week").json()["items"]]
    assert titles == ["Soon"]


@pytest.mark.parametrize(
    "params, says",
    [
        ({"sort": "colour"}, "sort"),
        ({"sort": "relevance"}, "relevance needs a search query"),
        ({"priority": ["P9"]}, "P9"),
        ({"due_window": "someday"}, "due_window"),
        ({"limit": 100000}, "limit"),
        ({"owner": "bob"}, "'owner' is not a list parameter"),
        ({"cursor": "abc"}, "'cursor' is not a list parameter"),
        ({"completed": "perhaps"}, "completed"),
    ],
)
def test_a_filter_with_a_bad_parameter_is_refused_naming_it(alice_api, params, says):
    response = post(alice_api, "/api/filters", {"name": "Bad", "params": params})
    assert response.status_code == 422, response.json()
    assert says in response.json()["detail"]
    assert not SavedFilter.objects.exists()


def test_names_are_unique_per_user_in_any_case_and_not_empty(alice_api, bob_api):
    assert post(alice_api, "/api/filters", {"name": "Work", "params": {}}).status_code == 201
    again = post(alice_api, "/api/filters", {"name": "WORK", "params": {}})
    assert again.status_code == 422 and "already" in again.json()["detail"]
    assert post(alice_api, "/api/filters", {"name": "   ", "params": {}}).status_code == 422
    assert post(bob_api, "/api/filters", {"name": "work", "params": {}}).status_code == 201


def test_the_number_of_saved_filters_is_bounded(alice, alice_api):
    SavedFilter.objects.bulk_create(SavedFilter(user=alice, name=f"f{i}", params={})
                                    for i in range(MAX_SAVED_FILTERS_PER_USER))
    response = post(alice_api, "/api/filters", {"name": "one more", "params": {}})
    assert response.status_code == 403 and response.json()["type"] == "/problems/quota-exceeded"


def test_rename_replace_and_delete(alice, alice_api):
    saved = post(alice_api, "/api/filters", {"name": "Old", "params": {"completed": False}}).json()
    renamed = alice_api.patch(f"/api/filters/{saved['id']}", {"name": "New", "params": {"overdue": True}},
                              content_type="application/json").json()
    assert (renamed["name"], renamed["params"]) == ("New", {"overdue": True})
    assert alice_api.get(f"/api/filters/{saved['id']}").json()["name"] == "New"
    assert alice_api.delete(f"/api/filters/{saved['id']}").status_code == 204
    assert alice_api.get("/api/tasks?filter=New").status_code == 404


def test_another_users_filter_is_not_found_anywhere(alice_api, bob_api):
    saved = post(alice_api, "/api/filters", {"name": "Private", "params": {"q": "secret"}}).json()
    assert bob_api.get(f"/api/filters/{saved['id']}").status_code == 404
    assert bob_api.get(f"/api/tasks?filter={saved['id']}").status_code == 404
    assert bob_api.get("/api/tasks?filter=Private").status_code == 404
    assert bob_api.delete(f"/api/filters/{saved['id']}").status_code == 404
    assert bob_api.get("/api/filters").json() == []
    assert Task.objects.count() == 0
