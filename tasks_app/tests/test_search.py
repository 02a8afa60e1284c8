"""`q`: PostgreSQL full-text search with web-search syntax, stemming and weights."""

import pytest

from tasks_app.services import task_create

pytestmark = pytest.mark.django_db


def search(client, q, **params):
    response = client.get("/api/tasks", {"q": q, **params})
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


def test_stemming_finds_other_forms_of_a_word(alice, alice_api):
    task_create(user=alice, title="Plan the meetings")
    task_create(user=alice, title="Buy milk")
    assert search(alice_api, "meeting") == ["Plan the meetings"]
    assert search(alice_api, "planned") == ["Plan the meetings"]


def test_search_covers_title_description_and_tag_names(alice, alice_api):
    task_create(user=alice, title="In title: invoice")
    task_create(user=alice, title="Second", description="send the invoice by Friday")
    task_create(user=alice, title="Third", tags=["invoices"])
    task_create(user=alice, title="Unrelated", description="nothing here", tags=["home"])
    assert sorted(search(alice_api, "invoice")) == ["In title: invoice", "Second", "Third"]


def test_quoted_phrase_matches_the_words_in_that_order_only(alice, alice_api):
    task_create(user=alice, title="Weekly team meeting")
    task_create(user=alice, title="Meeting with the team")
    assert search(alice_api, '"team meeting"') == ["Weekly team meeting"]


def test_minus_excludes_a_word(alice, alice_api):
    task_create(user=alice, title="Meeting: standup")
    task_create(user=alice, title="Meeting: budget review")
    assert search(alice_api, "meeting -standup") == ["Meeting: budget review"]


def test_or_matches_either_word(alice, alice_api):
    task_create(user=alice, title="Call the dentist")
    task_create(user=alice, title="Book a doctor")
    task_create(user=alice, title="Call mum")
    assert sorted(search(alice_api, "dentist or doctor")) == ["Book a doctor", "Call the dentist"]


def test_all_words_must_match_by_default(alice, alice_api):
    task_create(user=alice, title="Call the dentist")
    task_create(user=alice, title="Call mum")
    assert search(alice_api, "call dentist") == ["Call the dentist"]


def test_relevance_ranks_title_above_description_above_tag(alice, alice_api):
    # Created in the opposite order, so newest-first would give the reverse.
    task_create(user=alice, title="Tagged", tags=["garden"])
    task_create(user=alice, title="Described", description="the garden fence")
    task_create(user=alice, title="Garden fence")
    assert search(alice_api, "garden") == ["Garden fence", "Described", "Tagged"]


def test_explicit_sort_overrides_relevance(alice, alice_api):
    task_create(user=alice, title="Garden fence")
    task_create(user=alice, title="Described", description="the garden fence")
    assert search(alice_api, "garden", sort="-created_at") == ["Described", "Garden fence"]


def test_search_never_returns_another_users_tasks(alice, bob, bob_api):
    task_create(user=alice, title="Alice's secret report")
    task_create(user=bob, title="Bob's report")
    assert search(bob_api, "report") == ["Bob's report"]


def test_punctuation_and_operators_alone_are_not_errors(alice, alice_api):
    task_create(user=alice, title="Anything")
    for q in ['"', "-", "or", "&|!():*", "the", "'; DROP TABLE tasks_app_task; --"]:
        assert search(alice_api, q) == [], q


def test_blank_q_lists_everything(alice, alice_api):
    task_create(user=alice, title="One")
    assert search(alice_api, "   ") == ["One"]


def test_count_is_the_number_of_matches(alice, alice_api):
    for n in range(3):
        task_create(user=alice, title=f"Report {n}")
    task_create(user=alice, title="Other")
    body = alice_api.get("/api/tasks", {"q": "report", "limit": 2}).json()
    assert (len(body["items"]), body["count"]) == (2, 3)
