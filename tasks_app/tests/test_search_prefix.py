"""Search as you type: the last word of `q` also matches as a prefix, ranked below whole words."""

import pytest

from tasks_app.services import task_create

pytestmark = pytest.mark.django_db


def search(client, q, **params):
    response = client.get("/api/tasks", {"q": q, **params})
    assert response.status_code == 200, (q, response.content)
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def tasks(alice):
    for title in ("Weekly standup", "Send invoice", "Team lunch", "Buy milk"):
        task_create(user=alice, title=title)


def test_the_last_word_matches_the_start_of_a_word(alice_api, tasks):
    assert search(alice_api, "stan") == ["Weekly standup"]
    assert search(alice_api, "inv") == ["Send invoice"]
    assert search(alice_api, "weekly stan") == ["Weekly standup"]
    assert search(alice_api, "standup") == ["Weekly standup"]


def test_only_the_last_word_is_a_prefix(alice_api, tasks):
    assert search(alice_api, "stan weekly") == []
    assert search(alice_api, "wee stan") == []


def test_a_prefix_keeps_the_web_search_operators_around_it(alice_api, tasks):
    assert sorted(search(alice_api, "lunch or inv")) == ["Send invoice", "Team lunch"]
    assert sorted(search(alice_api, "milk or weekly stan")) == ["Buy milk", "Weekly standup"]
    assert search(alice_api, "-milk inv") == ["Send invoice"]


def test_quoted_and_excluded_last_words_stay_whole_words(alice_api, tasks):
    assert search(alice_api, '"stan"') == []
    assert search(alice_api, '"weekly stan') == []  # an unclosed phrase runs to the end
    assert sorted(search(alice_api, "-stan")) == ["Buy milk", "Send invoice", "Team lunch", "Weekly standup"]


def test_whole_word_matches_rank_above_prefix_only_matches(alice, alice_api):
    # The whole-word match is only in a description (weight B) and is older, the prefix matches are in
    # titles (weight A) and newer: relevance still puts the whole word first.
    task_create(user=alice, title="Call Sam", description="about the plan")
    task_create(user=alice, title="Planet documentary")
    task_create(user=alice, title="Planetarium tickets", tags=["planets"])
    assert search(alice_api, "plan") == ["Call Sam", "Planetarium tickets", "Planet documentary"]
    assert search(alice_api, "plan", sort="title") == ["Call Sam", "Planet documentary", "Planetarium tickets"]


def test_paging_by_relevance_across_whole_word_and_prefix_matches(alice, alice_api):
    for n in range(4):
        task_create(user=alice, title=f"Plan {n}")
        task_create(user=alice, title=f"Planet {n}", description="planetary" * (n % 2))
    whole = alice_api.get("/api/tasks", {"q": "plan", "limit": 200}).json()
    seen, cursor = [], None
    while True:
        body = alice_api.get("/api/tasks", {"q": "plan", "limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [item["id"] for item in whole["items"]] and whole["count"] == 8
    assert [item["title"][:5] for item in whole["items"][:4]] == ["Plan "] * 4


@pytest.mark.parametrize("q", [
    "'", "''", "\\", "stan\\", "stan'", "o'neil", "it's", "stan:", "stan:*", "'stan':*", "stan:*A", "st&an",
    "stan|", "!stan", "(stan)", "&|!():*", "a & b | !c", "stan <-> up", "'; DROP TABLE tasks_app_task; --",
    "\\'; --", "or", "-", "x or", "\"", "\"stan", "stan\"", "ünïcödé stä", "日本語", "𝔰𝔱𝔞𝔫", "stan\t\nup",
    "x" * 500, "2027", "e-mail", "_stan", "stan_", "$1", "%s", "%(q)s",
])
def test_a_hostile_q_is_never_an_error(alice_api, tasks, q):
    search(alice_api, q)
    search(alice_api, q, sort="relevance")
