"""HTTP conventions on tasks: `Location` on 201, `ETag` on reads and writes, `If-Match` → 412 when stale."""

import json
import threading

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def create(client, **fields):
    response = client.post("/api/tasks", json.dumps({"title": "A task", **fields}), content_type="application/json")
    assert response.status_code == 201, response.content
    return response


def patch(client, task_id, body, **headers):
    return client.patch(f"/api/tasks/{task_id}", json.dumps(body), content_type="application/json", headers=headers)


def test_created_task_has_a_location_that_reads_it_back(alice_api):
    response = create(alice_api, title="Find me")
    task = response.json()
    assert response["Location"] == f"http://testserver/api/tasks/{task['id']}"
    again = alice_api.get(response["Location"])
    assert again.status_code == 200 and again.json()["title"] == "Find me"


def test_every_task_response_has_the_same_etag_for_the_same_version(alice_api):
    created = create(alice_api, title="Versioned", due_at="2027-01-15T09:00:00+01:00", tags=["b", "a"])
    task_id = created.json()["id"]
    read = alice_api.get(f"/api/tasks/{task_id}")
    # A strong validator, and equal whether the task was just written (due_at as sent, +01:00) or read back (UTC).
    assert read["ETag"].startswith('"') and read["ETag"] == created["ETag"]

    updated = patch(alice_api, task_id, {"priority": "P1"})
    assert updated["ETag"] not in (None, read["ETag"])
    assert alice_api.get(f"/api/tasks/{task_id}")["ETag"] == updated["ETag"]

    completed = alice_api.post(f"/api/tasks/{task_id}/complete")
    assert completed["ETag"] != updated["ETag"]
    assert alice_api.get(f"/api/tasks/{task_id}")["ETag"] == completed["ETag"]


def test_patch_with_the_current_etag_succeeds_and_a_stale_one_is_412(alice_api):
    task_id = create(alice_api, title="Shared").json()["id"]
    etag = alice_api.get(f"/api/tasks/{task_id}")["ETag"]

    first = patch(alice_api, task_id, {"title": "Edited in the page"}, if_match=etag)
    assert first.status_code == 200, first.content

    # A second client still holding the old version must not overwrite the first edit.
    second = patch(alice_api, task_id, {"title": "Edited in the chat"}, if_match=etag)
    assert second.status_code == 412
    assert "changed since you read it" in second.json()["detail"]
    assert alice_api.get(f"/api/tasks/{task_id}").json()["title"] == "Edited in the page"

    retry = patch(alice_api, task_id, {"title": "Edited in the chat"}, if_match=first["ETag"])
    assert retry.status_code == 200 and retry.json()["title"] == "Edited in the chat"


def test_renaming_a_tag_changes_the_etag_of_its_tasks(alice_api):
    # The tag's name is part of what a client read, though the task's updated_at stays as it was.
    task_id = create(alice_api, tags=["home"]).json()["id"]
    before = alice_api.get(f"/api/tasks/{task_id}")["ETag"]
    assert alice_api.patch("/api/tags/home", json.dumps({"name": "house"}),
                           content_type="application/json").status_code == 200
    assert patch(alice_api, task_id, {"priority": "P2"}, if_match=before).status_code == 412


def test_delete_honours_if_match(alice_api):
    task_id = create(alice_api).json()["id"]
    stale = alice_api.get(f"/api/tasks/{task_id}")["ETag"]
    current = patch(alice_api, task_id, {"priority": "P1"})["ETag"]

    refused = alice_api.delete(f"/api/tasks/{task_id}", headers={"if_match": stale})
    assert refused.status_code == 412
    assert alice_api.get(f"/api/tasks/{task_id}").status_code == 200

    assert alice_api.delete(f"/api/tasks/{task_id}", headers={"if_match": current}).status_code == 204
    assert alice_api.get(f"/api/tasks/{task_id}").status_code == 404


def test_writes_without_if_match_still_work(alice_api):
    task_id = create(alice_api).json()["id"]
    assert patch(alice_api, task_id, {"title": "No precondition"}).status_code == 200
    assert alice_api.delete(f"/api/tasks/{task_id}").status_code == 204


def test_if_match_star_and_lists_and_weak_tags(alice_api):
    task_id = create(alice_api).json()["id"]
    etag = alice_api.get(f"/api/tasks/{task_id}")["ETag"]
    assert patch(alice_api, task_id, {"priority": "P2"}, if_match="*").status_code == 200
    etag = alice_api.get(f"/api/tasks/{task_id}")["ETag"]
    assert patch(alice_api, task_id, {"priority": "P1"}, if_match=f'"nope", {etag}').status_code == 200
    etag = alice_api.get(f"/api/tasks/{task_id}")["ETag"]
    # If-Match uses strong comparison: a weak tag never matches (RFC 9110 §13.1.1).
    assert patch(alice_api, task_id, {"priority": "P4"}, if_match=f"W/{etag}").status_code == 412


def test_if_match_on_someone_elses_task_is_404_not_412(alice_api, bob_api):
    response = create(alice_api)
    refused = patch(bob_api, response.json()["id"], {"title": "mine"}, if_match=response["ETag"])
    assert refused.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_writers_with_the_same_etag_one_wins(alice_api, live_server):
    """Both send If-Match with the version they read, at the same moment, over real HTTP:
    the row lock makes the check and the write one step, so exactly one succeeds."""
    import urllib.error
    import urllib.request

    created = create(alice_api)
    task_id, etag = created.json()["id"], created["ETag"]
    token = alice_api.defaults.get("HTTP_AUTHORIZATION") or alice_api.headers["Authorization"]
    barrier, results = threading.Barrier(2), []

    def write(title):
        request = urllib.request.Request(f"{live_server.url}/api/tasks/{task_id}", method="PATCH",
                                         data=json.dumps({"title": title}).encode(),
                                         headers={"Authorization": token, "If-Match": etag,
                                                  "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                results.append(response.status)
        except urllib.error.HTTPError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(title,)) for title in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 412]
