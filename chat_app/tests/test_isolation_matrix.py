"""Bob cannot read, list, search, change, complete, delete or learn the existence of Alice's tasks, tags,
notifications, conversations or API tokens, through any door: REST, MCP over streamable HTTP and over
stdio, the chat assistant, the live WebSocket, the web pages and the admin.

Each case is named door-resource-action.  "Learn the existence" is checked by asking the same thing
about Alice's id and about an id that never existed: the two answers must be alike (same status, same
`detail` or reply, same headers) once each id is replaced by a placeholder.  Every case in which Bob acts
ends by checking that Alice's data is exactly what it was (the `unchanged` fixture), and that nothing of
hers (the word "zanzibar", which only her data carries) reached him.  In the WebSocket cases Alice acts
and Bob's sockets listen.  The admin is tried as a user who is not staff and as staff without any
permission.  The stdio cases share one `manage.py mcp_stdio` session (a process start costs seconds) and
are subtests named like the HTTP ones.

This file lives with the chat tests because it drives every door, and the chat tests' package already
runs the shared uvicorn server and Celery worker (chat_app/tests/conftest.py) that MCP over HTTP and
the WebSocket need.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db.models import Max
from django.test import Client
from django.utils import timezone

from chat_app.models import Conversation, Message
from devstack.testing import wait_until
from tasks_app import accounts, services
from tasks_app.models import ApiToken, Notification, Tag, Task
from tasks_app.tests.test_live_socket import (
    PATH,
    WAIT,
    open_socket,
    session_headers,
    ticket_for,
)

from .conftest import say
from .test_chat_api import post as chat_post
from .test_mcp_http import over_http
from .test_mcp_stdio import over_stdio

pytestmark = pytest.mark.django_db

MARKER = "zanzibar"  # in every title, tag, message and token name of Alice's; in nothing of Bob's


@dataclass
class AlicesData:
    user: object
    open_task: Task
    done_task: Task
    tag: Tag
    notification: Notification
    conversation: Conversation
    token: str
    token_row: ApiToken


@dataclass
class Missing:
    """Ids of the same kinds that never existed."""

    task: int
    notification: int
    conversation: int
    token: int
    tag_id: int
    tag: str = "never-a-tag"


def alices_state(user) -> dict:
    """Everything of Alice's a write could touch, in a comparable form ("deleted" = missing here)."""
    return {
        "tasks": [(t.pk, t.title, t.description, t.priority, t.completed, t.due_at, t.recurrence, t.updated_at,
                   sorted(tag.name for tag in t.tags.all()))
                  for t in Task.objects.filter(user=user).prefetch_related("tags").order_by("pk")],
        "tags": list(Tag.objects.filter(user=user).order_by("pk").values_list("pk", "name")),
        "notifications": list(Notification.objects.filter(user=user).order_by("pk")
                              .values_list("pk", "task_id", "message", "read_at")),
        "conversations": list(Conversation.objects.filter(user=user).order_by("pk")
                              .values_list("pk", "title", "updated_at")),
        "messages": Message.objects.filter(conversation__user=user).count(),
        "tokens": list(ApiToken.objects.filter(user=user).order_by("pk").values_list("pk", "name", "expires_at")),
    }


@pytest.fixture
def alices(alice) -> AlicesData:
    open_task = services.task_create(user=alice, title="Zanzibar plan", description="zanzibar notes",
                                     priority="P1", tags=[MARKER], due_at=timezone.now() - timedelta(minutes=5),
                                     reminder_minutes_before=0)
    done_task = services.task_create(user=alice, title="Zanzibar diary", tags=[MARKER])
    services.task_complete(task=done_task)
    # Claimed here, or (when the package's shared worker runs) by its precise reminder job first.
    services.reminders_claim_due()
    notification = wait_until(lambda: Notification.objects.filter(user=alice, task=open_task).first(),
                              timeout=30, message="alice's reminder notice")
    conversation = Conversation.objects.get(pk=say(alice, "find zanzibar").conversation_id)
    token, token_row = accounts.api_token_create(user=alice, name=f"{MARKER} laptop")
    open_task.refresh_from_db()
    done_task.refresh_from_db()
    return AlicesData(alice, open_task, done_task, Tag.objects.get(user=alice, name=MARKER), notification,
                      conversation, token, token_row)


@pytest.fixture
def bobs(bob):
    """Bob's own things, so that what he lists is not empty by accident."""
    return services.task_create(user=bob, title="Bob's errand", tags=["errands"])


@pytest.fixture
def missing(alices, bobs) -> Missing:
    def beyond(model) -> int:
        return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1000

    return Missing(beyond(Task), beyond(Notification), beyond(Conversation), beyond(ApiToken), beyond(Tag))


@pytest.fixture
def unchanged(alices, bobs):
    """Checks, after the test, that Alice's data is as it was and her token still works."""
    before = alices_state(alices.user)
    yield
    assert alices_state(alices.user) == before
    assert accounts.api_token_authenticate(alices.token) == alices.user


def without_ids(text: str, *ids) -> str:
    """`text` with each id (as a whole number) replaced by <id>, so two answers can be compared."""
    for value in ids:
        text = re.sub(rf"(?<!\d){re.escape(str(value))}(?!\d)", "<id>", text)
    return text


def assert_nothing_of_alices(text: str) -> None:
    assert MARKER not in text.lower(), text[:2000]


# --------------------------------------------------------------------------- REST


# (resource, action, method, path with {id}, JSON body, headers, which of Alice's ids {id} is)
REST_BY_ID = [
    ("task", "read", "get", "/api/tasks/{id}", None, {}, "open_task"),
    ("task", "read-if-none-match", "get", "/api/tasks/{id}", None, {"If-None-Match": "*"}, "open_task"),
    ("task", "change", "patch", "/api/tasks/{id}", {"title": "hacked"}, {}, "open_task"),
    ("task", "change-if-match", "patch", "/api/tasks/{id}", {"title": "hacked"}, {"If-Match": "*"}, "open_task"),
    ("task", "complete", "post", "/api/tasks/{id}/complete", None, {}, "open_task"),
    ("task", "reopen", "post", "/api/tasks/{id}/reopen", None, {}, "done_task"),
    ("task", "delete", "delete", "/api/tasks/{id}", None, {}, "open_task"),
    ("task", "delete-if-match", "delete", "/api/tasks/{id}", None, {"If-Match": "*"}, "open_task"),
    ("tag", "rename", "patch", "/api/tags/{id}", {"name": "hacked"}, {}, "tag"),
    ("tag", "delete", "delete", "/api/tags/{id}", None, {}, "tag"),
    ("notification", "mark-read", "post", "/api/notifications/{id}/read", None, {}, "notification"),
    ("conversation", "read", "get", "/api/chat/conversations/{id}", None, {}, "conversation"),
    ("token", "revoke", "delete", "/api/auth/tokens/{id}", None, {}, "token_row"),
]
MISSING_OF = {"open_task": "task", "done_task": "task", "tag": "tag", "notification": "notification",
              "conversation": "conversation", "token_row": "token"}
# Headers that differ between any two responses, whatever they are about.
VOLATILE_HEADERS = {"date", "content-length"}


def alices_key(alices: AlicesData, which: str):
    thing = getattr(alices, which)
    return thing.name if which == "tag" else thing.pk


def rest_call(client: Client, method: str, path: str, body, headers: dict):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(path, headers=headers, **kwargs)


def comparable(response, key) -> tuple:
    """What a client can read of an answer, with the id it was about replaced."""
    try:
        body = response.json()
    except ValueError:
        body = response.content.decode(errors="replace")
    detail = body.get("detail") if isinstance(body, dict) else body
    shape = sorted(body) if isinstance(body, dict) else type(body).__name__
    headers = sorted(name.lower() for name in response.headers if name.lower() not in VOLATILE_HEADERS)
    return response.status_code, without_ids(json.dumps(detail), key), shape, headers


@pytest.mark.parametrize("resource, action, method, path, body, headers, which",
                         REST_BY_ID, ids=[f"rest-{case[0]}-{case[1]}" for case in REST_BY_ID])
def test_rest_answers_for_alices_id_as_for_one_that_never_existed(bob_api, alices, missing, unchanged, resource,
                                                                   action, method, path, body, headers, which):
    key = alices_key(alices, which)
    never = getattr(missing, MISSING_OF[which])
    for_alices = rest_call(bob_api, method, path.format(id=key), body, headers)
    for_missing = rest_call(bob_api, method, path.format(id=never), body, headers)
    assert for_alices.status_code == 404, for_alices.content
    assert comparable(for_alices, key) == comparable(for_missing, never)
    assert_nothing_of_alices(for_alices.content.decode())


def test_rest_chat_into_alices_conversation_is_as_into_one_that_never_existed(bob_api, alices, missing, unchanged):
    answers = [chat_post(bob_api, {"message": "mark it as done", "conversation_id": conversation_id})
               for conversation_id in (alices.conversation.pk, missing.conversation)]
    assert answers[0].status_code == 404
    assert comparable(answers[0], alices.conversation.pk) == comparable(answers[1], missing.conversation)


def test_rest_tag_named_like_alices_is_bobs_own(bob_api, bob, alices, bobs, unchanged):
    """Tag names are per user (and matched in any case): Bob renaming his tag to her tag's name, in
    another case, merges nothing of hers; each sees only their own."""
    response = rest_call(bob_api, "patch", "/api/tags/errands", {"name": MARKER.capitalize()}, {})
    assert response.status_code == 200 and response.json() == {"name": MARKER.capitalize(), "task_count": 1}
    assert bob_api.get("/api/tags").json() == [{"name": MARKER.capitalize(), "task_count": 1}]
    alice_api = Client(headers={"Authorization": f"Bearer {alices.token}"})
    assert alice_api.get("/api/tags").json() == [{"name": MARKER, "task_count": 2}]


# (resource, action, method, path, body): each answers with Bob's things only.
REST_LISTS = [
    ("task", "list", "get", "/api/tasks", None),
    ("task", "list-completed", "get", "/api/tasks?completed=true", None),
    ("task", "search", "get", f"/api/tasks?q={MARKER}", None),
    ("task", "search-prefix", "get", "/api/tasks?q=zanz", None),
    ("task", "filter-by-tag", "get", f"/api/tasks?tag={MARKER}", None),
    ("task", "list-overdue", "get", "/api/tasks?overdue=true", None),
    ("tag", "list", "get", "/api/tags", None),
    ("notification", "list", "get", "/api/notifications", None),
    ("notification", "list-unread", "get", "/api/notifications?unread=true", None),
    ("notification", "mark-all-read", "post", "/api/notifications/read", None),
    ("conversation", "list", "get", "/api/chat/conversations", None),
    ("token", "list", "get", "/api/auth/tokens", None),
]


def bobs_view(bob, resource: str, action: str) -> object:
    """What Bob must be answered, computed from his own rows."""
    if resource == "task":
        if action == "list":
            return sorted(Task.objects.filter(user=bob).values_list("pk", flat=True))
        return []  # Bob has no completed, overdue or zanzibar task
    if resource == "tag":
        return [{"name": "errands", "task_count": 1}]
    if resource == "notification":
        return {"marked": 0} if action == "mark-all-read" else []
    if resource == "conversation":
        return sorted(Conversation.objects.filter(user=bob).values_list("pk", flat=True))
    return sorted(ApiToken.objects.filter(user=bob).values_list("pk", flat=True))


@pytest.mark.parametrize("resource, action, method, path, body", REST_LISTS,
                         ids=[f"rest-{case[0]}-{case[1]}" for case in REST_LISTS])
def test_rest_lists_and_searches_show_only_bobs(bob_api, bob, alices, unchanged, resource, action, method, path,
                                                body):
    say(bob, "hello")  # a conversation of his own
    response = rest_call(bob_api, method, path, body, {})
    assert response.status_code == 200, response.content
    assert_nothing_of_alices(response.content.decode())
    answer = response.json()
    if resource == "task":
        answer = sorted(item["id"] for item in answer["items"])
    elif resource in ("conversation", "token"):
        answer = sorted(item["id"] for item in answer)
    assert answer == bobs_view(bob, resource, action)


# --------------------------------------------------------------------------- MCP (HTTP and stdio)


# (resource, action, tool, arguments with "{id}", which of Alice's ids)
MCP_BY_ID = [
    ("task", "read", "get_task", {"task_id": "{id}"}, "open_task"),
    ("task", "change", "update_task", {"task_id": "{id}", "title": "hacked"}, "open_task"),
    ("task", "complete", "complete_task", {"task_id": "{id}"}, "open_task"),
    ("task", "reopen", "reopen_task", {"task_id": "{id}"}, "done_task"),
    ("task", "delete", "delete_task", {"task_id": "{id}"}, "open_task"),
]
# (resource, action, tool, arguments): each answers with Bob's things only.
MCP_LISTS = [
    ("task", "list", "list_tasks", {}),
    ("task", "list-completed", "list_tasks", {"completed": True}),
    ("task", "search", "list_tasks", {"q": MARKER}),
    ("task", "filter-by-tag", "list_tasks", {"tags": [MARKER]}),
    ("task", "list-overdue", "list_tasks", {"overdue": True}),
    ("task", "list-recurring", "list_recurring_tasks", {}),
    ("tag", "list", "list_tags", {}),
    ("notification", "list", "list_notifications", {}),
]


def with_id(arguments: dict, value: int) -> dict:
    return {name: value if argument == "{id}" else argument for name, argument in arguments.items()}


def by_id_calls(alices: AlicesData, missing: Missing, tool: str, arguments: dict, which: str):
    key, never = alices_key(alices, which), getattr(missing, MISSING_OF[which])
    return key, never, [(tool, with_id(arguments, key)), (tool, with_id(arguments, never))]


def result_text(result) -> str:
    return json.dumps([part.text for part in result.content if hasattr(part, "text")])


def assert_tool_answers_alike(for_alices, for_missing, key, never) -> None:
    assert for_alices.is_error and for_missing.is_error
    assert "not found" in result_text(for_alices)
    assert without_ids(result_text(for_alices), key) == without_ids(result_text(for_missing), never)
    assert for_alices.structured_content == for_missing.structured_content
    assert_nothing_of_alices(result_text(for_alices))


def bobs_tool_view(bob, tool: str, arguments: dict) -> list:
    if tool == "list_tasks" and not arguments:
        return sorted(Task.objects.filter(user=bob).values_list("pk", flat=True))
    if tool == "list_tags":
        return ["errands"]
    return []  # nothing of Bob's is completed, overdue, recurring, zanzibar or notified


def assert_tool_lists_only_bobs(bob, tool: str, arguments: dict, result) -> None:
    assert not result.is_error, result.content
    assert_nothing_of_alices(result_text(result) + json.dumps(result.structured_content))
    content = result.structured_content
    if tool == "list_tags":
        listed = [tag["name"] for tag in content["tags"]]
    else:
        listed = sorted(item["id"] for item in content["items"])
    assert listed == bobs_tool_view(bob, tool, arguments)


@pytest.mark.parametrize("resource, action, tool, arguments, which", MCP_BY_ID,
                         ids=[f"mcp-http-{case[0]}-{case[1]}" for case in MCP_BY_ID])
def test_mcp_http_answers_for_alices_id_as_for_one_that_never_existed(asgi_server, bob, alices, missing, unchanged,
                                                                       resource, action, tool, arguments, which):
    key, never, calls = by_id_calls(alices, missing, tool, arguments, which)
    _, (for_alices, for_missing) = over_http(asgi_server.url, accounts.api_token_issue(user=bob), calls)
    assert_tool_answers_alike(for_alices, for_missing, key, never)


@pytest.mark.parametrize("resource, action, tool, arguments", MCP_LISTS,
                         ids=[f"mcp-http-{case[0]}-{case[1]}" for case in MCP_LISTS])
def test_mcp_http_lists_and_searches_show_only_bobs(asgi_server, bob, alices, bobs, unchanged, resource, action,
                                                    tool, arguments):
    _, (result,) = over_http(asgi_server.url, accounts.api_token_issue(user=bob), [(tool, arguments)])
    assert_tool_lists_only_bobs(bob, tool, arguments, result)


@pytest.mark.django_db(transaction=True)
def test_mcp_stdio_as_bob_neither_reaches_nor_reveals_alices(child_env, bob, alices, missing, bobs, unchanged,
                                                             subtests):
    """The same cases over `manage.py mcp_stdio --user bob`, in one session: a process start costs seconds,
    so each case is a subtest (named like the HTTP ones), with Alice's data checked after each call."""
    before = alices_state(alices.user)
    cases, calls = [], []
    for resource, action, tool, arguments, which in MCP_BY_ID:
        key, never, pair = by_id_calls(alices, missing, tool, arguments, which)
        cases.append((f"mcp-stdio-{resource}-{action}", len(pair),
                      lambda answers, key=key, never=never: assert_tool_answers_alike(*answers, key, never)))
        calls += pair
    for resource, action, tool, arguments in MCP_LISTS:
        cases.append((f"mcp-stdio-{resource}-{action}", 1,
                      lambda answers, tool=tool, arguments=arguments: assert_tool_lists_only_bobs(
                          bob, tool, arguments, *answers)))
        calls.append((tool, arguments))

    answers = iter(over_stdio(child_env, bob.username, calls, after_each=lambda: alices_state(alices.user)))
    for name, count, check in cases:
        results, states = zip(*[next(answers) for _ in range(count)])
        with subtests.test(msg=name):
            check(results)
            assert all(state == before for state in states)


# --------------------------------------------------------------------------- chat (the offline assistant)


# (resource, action, message naming a task by "{id}", which of Alice's tasks)
CHAT_BY_ID = [
    ("task", "read", "show task {id}", "open_task"),
    ("task", "read-details", "tell me about task #{id}", "open_task"),
    ("task", "complete", "complete task {id}", "open_task"),
    ("task", "complete-mark", "mark task #{id} as done", "open_task"),
    ("task", "reopen", "reopen task {id}", "done_task"),
    ("task", "rename", "rename task {id} to hacked", "open_task"),
    ("task", "change-priority", "set the priority of task {id} to P4", "open_task"),
    ("task", "retag", "tag task {id} with hacked", "open_task"),
    ("task", "delete", "delete task {id}", "open_task"),
]
# (resource, action, message, tool called, arguments to list Bob's answer with): the answer holds Bob's
# things only.  Bob's own words (a search for "zanzibar") may be echoed in the reply; Alice's data may not.
CHAT_LISTS = [
    ("task", "list-all-users", "show all users' tasks", "list_tasks", {}),
    ("task", "list-all", "show all tasks", "list_tasks", {}),
    ("task", "list-everyones", "list everyone's tasks", "list_tasks", {}),
    ("task", "list-completed", "show completed tasks", "list_tasks", {"completed": True}),
    ("task", "search", f"find {MARKER}", "list_tasks", {"q": MARKER}),
    ("task", "search-tagged", f"show tasks tagged {MARKER}", "list_tasks", {"tags": [MARKER]}),
    ("task", "list-overdue", "what is overdue?", "list_tasks", {"overdue": True}),
    ("tag", "list", "show all tags", "list_tags", {}),
    ("notification", "list", "show my notifications", "list_notifications", {}),
]


def chat_as_bob(bob_api, message: str) -> dict:
    response = chat_post(bob_api, {"message": message})
    assert response.status_code == 200, response.content
    return response.json()


def alices_words(alices: AlicesData) -> list[str]:
    return [alices.open_task.title, alices.done_task.title, alices.open_task.description,
            alices.notification.message, alices.conversation.title, alices.token_row.prefix]


@pytest.mark.parametrize("resource, action, message, which", CHAT_BY_ID,
                         ids=[f"chat-{case[0]}-{case[1]}" for case in CHAT_BY_ID])
def test_chat_naming_alices_task_answers_as_for_one_that_never_existed(bob_api, alices, missing, unchanged, resource,
                                                                        action, message, which):
    key, never = alices_key(alices, which), getattr(missing, MISSING_OF[which])
    for_alices = chat_as_bob(bob_api, message.format(id=key))
    for_missing = chat_as_bob(bob_api, message.format(id=never))
    assert_nothing_of_alices(json.dumps(for_alices))
    assert "couldn't find" in for_alices["reply"]
    assert without_ids(for_alices["reply"], key) == without_ids(for_missing["reply"], never)
    assert (without_ids(json.dumps(for_alices["tool_calls"]), key)
            == without_ids(json.dumps(for_missing["tool_calls"]), never))


# (resource, action, message naming a task by "{title}", which of Alice's tasks): Bob names her task by its
# title; his words come back in the reply, her task must not.
CHAT_BY_TITLE = [
    ("task", "read-by-title", "tell me about {title}", "open_task"),
    ("task", "complete-by-title", "complete {title}", "open_task"),
    ("task", "reopen-by-title", "reopen {title}", "done_task"),
    ("task", "rename-by-title", "rename {title} to hacked", "open_task"),
    ("task", "delete-by-title", "delete {title}", "open_task"),
]
NOBODYS_TITLE = "Quokka plan"


@pytest.mark.parametrize("resource, action, message, which", CHAT_BY_TITLE,
                         ids=[f"chat-{case[0]}-{case[1]}" for case in CHAT_BY_TITLE])
def test_chat_naming_alices_task_by_title_answers_as_for_a_title_nobody_has(bob_api, alices, bobs, unchanged,
                                                                            resource, action, message, which):
    title = getattr(alices, which).title
    for_alices = chat_as_bob(bob_api, message.format(title=title))
    for_nobody = chat_as_bob(bob_api, message.format(title=NOBODYS_TITLE))
    assert_nothing_of_alices(json.dumps([call["result"] for call in for_alices["tool_calls"]]))
    assert (for_alices["reply"].replace(title, NOBODYS_TITLE).replace(title.lower(), NOBODYS_TITLE.lower())
            == for_nobody["reply"])
    assert (json.dumps(for_alices["tool_calls"]).replace(title, NOBODYS_TITLE)
            .replace(title.lower(), NOBODYS_TITLE.lower()) == json.dumps(for_nobody["tool_calls"]))


@pytest.mark.parametrize("message", ["delete all tasks", "complete all tasks", "delete all users' tasks",
                                     "mark everything as done", f"delete tag {MARKER}",
                                     f"remove the tag {MARKER} from everything"],
                         ids=["chat-task-delete-all", "chat-task-complete-all", "chat-task-delete-all-users",
                              "chat-task-complete-everything", "chat-tag-delete", "chat-tag-remove-everywhere"])
def test_chat_sweeping_requests_leave_alices_alone(bob_api, alices, bobs, unchanged, message):
    answer = chat_as_bob(bob_api, message)
    assert_nothing_of_alices(json.dumps([call["result"] for call in answer["tool_calls"]]))
    for words in alices_words(alices):
        assert words.lower() not in answer["reply"].lower(), answer["reply"]


@pytest.mark.parametrize("resource, action, message, tool, arguments", CHAT_LISTS,
                         ids=[f"chat-{case[0]}-{case[1]}" for case in CHAT_LISTS])
def test_chat_lists_and_searches_show_only_bobs(bob_api, bob, alices, bobs, unchanged, resource, action, message,
                                                tool, arguments):
    answer = chat_as_bob(bob_api, message)
    assert [call["name"] for call in answer["tool_calls"]] == [tool]
    result = answer["tool_calls"][0]["result"]
    assert_nothing_of_alices(json.dumps(result))
    for words in alices_words(alices):
        assert words.lower() not in answer["reply"].lower(), answer["reply"]
    if tool == "list_tags":
        listed = [tag["name"] for tag in result["tags"]]
    else:
        listed = sorted(item["id"] for item in result["items"])
    assert listed == bobs_tool_view(bob, tool, arguments)


# --------------------------------------------------------------------------- WebSocket (live updates)


def alices_action(alices: AlicesData, action: str):
    """What Alice does in a WebSocket case, as (the function, the event type her socket then hears,
    the id of the task it is about, or None when the function returns it or when any of hers will do);
    None for the event when her socket is closed instead."""
    user, task, done = alices.user, alices.open_task, alices.done_task

    def reminder():
        due = services.task_create(user=user, title="Zanzibar call", due_at=timezone.now(), reminder_minutes_before=0)
        services.reminders_claim_due()
        return due.pk

    return {
        "task-create": (lambda: services.task_create(user=user, title="Zanzibar new", tags=[MARKER]).pk,
                        "todo.task.created", None),
        "task-change": (lambda: services.task_update(task=task, title="Zanzibar renamed"), "todo.task.updated",
                        task.pk),
        "task-complete": (lambda: services.task_complete(task=task), "todo.task.completed", task.pk),
        "task-reopen": (lambda: services.task_reopen(task=done), "todo.task.reopened", done.pk),
        "task-delete": (lambda: services.task_delete(task=task), "todo.task.deleted", task.pk),
        "tag-rename": (lambda: services.tag_rename(user=user, name=MARKER, new_name=f"{MARKER}-2") and None,
                       "todo.task.updated", None),
        "tag-delete": (lambda: services.tag_delete(user=user, name=MARKER), "todo.task.updated", None),
        "notification-reminder-due": (reminder, "todo.reminder.due", None),
        "token-revoke": (lambda: accounts.api_token_revoke(user=user, token_id=alices.token_row.pk), None, None),
    }[action]


WS_ACTIONS = ["task-create", "task-change", "task-complete", "task-reopen", "task-delete", "tag-rename", "tag-delete",
              "notification-reminder-due", "token-revoke"]


def ticket_with(token: str) -> str:
    response = Client(headers={"Authorization": f"Bearer {token}"}).post("/api/auth/ws-ticket")
    assert response.status_code == 200, response.content
    return response.json()["ticket"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", WS_ACTIONS, ids=[f"ws-{action}" for action in WS_ACTIONS])
def test_bobs_sockets_never_hear_alices_live_updates(chat_worker, alice, bob, alices, bobs, action):
    """Alice's socket (opened with her zanzibar token) hears her change; Bob's two sockets (one by ticket,
    one by session), which first ask to join her group, hear only their own: once Alice has heard hers,
    Bob changes a task of his, and everything his sockets receive up to that is his."""
    alice_ticket, bob_ticket, bob_session = ticket_with(alices.token), ticket_for(bob), session_headers(bob)
    act, heard_type, heard_task = alices_action(alices, action)
    act = database_sync_to_async(act)
    bobs_marker = database_sync_to_async(services.task_create)

    async def hear(socket, accept) -> list[dict]:
        """Every message up to and including the first that `accept`s."""
        messages = []
        while True:
            message = await socket.receive_json_from(timeout=WAIT)
            messages.append(message)
            if accept(message):
                return messages

    async def scenario():
        alice_socket = await open_socket(f"{PATH}?ticket={alice_ticket}")
        bob_sockets = [await open_socket(f"{PATH}?ticket={bob_ticket}"), await open_socket(PATH, bob_session)]
        try:
            for socket in bob_sockets:  # the server ignores what clients send; a join request is no exception
                await socket.send_json_to({"type": "join", "group": f"tasks.user.{alice.pk}", "user_id": alice.pk})
            acted_on = await act()
            if heard_type is None:  # her token revoked: her socket is closed, Bob's stay open
                closing = await alice_socket.receive_output(timeout=WAIT)
                while closing["type"] == "websocket.send":  # her earlier changes' pushes come first
                    closing = await alice_socket.receive_output(timeout=WAIT)
                assert (closing["type"], closing.get("code")) == ("websocket.close", 4401)
            else:
                # Her fixture's own pushes (created, completed, reminder due) may still be on their way.
                task_id = heard_task or acted_on
                await hear(alice_socket, lambda m: m["type"] == heard_type and task_id in (None, m["task_id"]))
            marker = await bobs_marker(user=bob, title="Bob's marker")
            for socket in bob_sockets:
                received = await hear(socket, lambda m: m["task_id"] == marker.pk)
                assert all(m["user_id"] == bob.pk for m in received), received
                assert_nothing_of_alices(json.dumps(received))
                assert received[-1]["type"] == "todo.task.created"
        finally:
            for socket in [alice_socket, *bob_sockets]:
                await socket.disconnect()

    async_to_sync(scenario)()


# --------------------------------------------------------------------------- admin (not staff) and pages


# (resource, action, method, admin path with {id}, form data, which of Alice's ids)
ADMIN_CASES = [
    ("task", "list", "get", "tasks_app/task/", None, None),
    ("task", "search", "get", f"tasks_app/task/?q={MARKER}", None, None),
    ("task", "read", "get", "tasks_app/task/{id}/change/", None, "open_task"),
    ("task", "history", "get", "tasks_app/task/{id}/history/", None, "open_task"),
    ("task", "change", "post", "tasks_app/task/{id}/change/", {"title": "hacked", "priority": "P4"}, "open_task"),
    ("task", "complete", "post", "tasks_app/task/", {"action": "complete_selected", "_selected_action": "{id}"},
     "open_task"),
    ("task", "delete", "post", "tasks_app/task/{id}/delete/", {"post": "yes"}, "open_task"),
    ("task", "delete-selected", "post", "tasks_app/task/",
     {"action": "delete_selected", "_selected_action": "{id}", "post": "yes"}, "open_task"),
    ("tag", "list", "get", "tasks_app/tag/", None, None),
    ("tag", "read", "get", "tasks_app/tag/{id}/change/", None, "tag"),
    ("tag", "delete", "post", "tasks_app/tag/{id}/delete/", {"post": "yes"}, "tag"),
    ("tag", "history", "get", "tasks_app/tag/{id}/history/", None, "tag"),
    ("notification", "list", "get", "tasks_app/notification/", None, None),
    ("notification", "read", "get", "tasks_app/notification/{id}/change/", None, "notification"),
    ("notification", "delete", "post", "tasks_app/notification/{id}/delete/", {"post": "yes"}, "notification"),
    ("notification", "history", "get", "tasks_app/notification/{id}/history/", None, "notification"),
    ("conversation", "list", "get", "chat_app/conversation/", None, None),
    ("conversation", "read", "get", "chat_app/conversation/{id}/change/", None, "conversation"),
    ("conversation", "delete", "post", "chat_app/conversation/{id}/delete/", {"post": "yes"}, "conversation"),
    ("conversation", "history", "get", "chat_app/conversation/{id}/history/", None, "conversation"),
    ("conversation", "messages", "get", "chat_app/message/", None, None),
    ("token", "list", "get", "tasks_app/apitoken/", None, None),
    ("token", "read", "get", "tasks_app/apitoken/{id}/change/", None, "token_row"),
    ("token", "delete", "post", "tasks_app/apitoken/{id}/delete/", {"post": "yes"}, "token_row"),
    ("token", "history", "get", "tasks_app/apitoken/{id}/history/", None, "token_row"),
]
# Who Bob is to the admin, and how it answers him: not staff → the admin's login page; staff without a
# single permission → 403.
ADMIN_ROLES = {"admin-not-staff": {}, "admin-staff-without-permissions": {"is_staff": True}}


def admin_answer(response, *ids) -> tuple:
    """What Bob's browser gets: status, where it is sent, the page, with the ids replaced.  Both answers are
    given both ids: a page's own numbers ("403 Forbidden") are then replaced alike when an id happens to be one."""
    return (response.status_code, without_ids(response.headers.get("Location", ""), *ids),
            without_ids(response.content.decode(errors="replace"), *ids))


@pytest.mark.parametrize("role", ADMIN_ROLES)
@pytest.mark.parametrize("resource, action, method, path, data, which", ADMIN_CASES,
                         ids=[f"{case[0]}-{case[1]}" for case in ADMIN_CASES])
def test_admin_gives_bob_nothing_of_alices(client, bob, alices, missing, unchanged, role, resource, action, method,
                                           path, data, which):
    for name, value in ADMIN_ROLES[role].items():
        setattr(bob, name, value)
    bob.save()
    client.force_login(bob)

    def ask(key):
        form = {name: str(key) if value == "{id}" else value for name, value in (data or {}).items()}
        return getattr(client, method)(f"/admin/{path.format(id=key)}", form)

    # The admin names every object by its primary key, tags too.
    key = getattr(alices, which).pk if which else None
    for_alices = ask(key)
    if role == "admin-not-staff":
        assert for_alices.status_code == 302
        assert for_alices.headers["Location"].startswith("/admin/login/?next=")
    else:
        assert for_alices.status_code == 403
    assert_nothing_of_alices(for_alices.content.decode(errors="replace"))
    if which:
        never = missing.tag_id if which == "tag" else getattr(missing, MISSING_OF[which])
        assert admin_answer(for_alices, key, never) == admin_answer(ask(never), key, never)


def test_admin_index_lists_nothing_for_staff_without_permissions(client, bob, alices, unchanged):
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.context["app_list"] == []
    assert_nothing_of_alices(response.content.decode())


# (resource, action, method, path with {id}, form data, which of Alice's ids)
PAGE_CASES = [
    ("conversation", "read", "get", "/?c={id}", None, "conversation"),
    ("conversation", "read-part", "get", "/?c={id}&partial=messages", None, "conversation"),
    ("conversation", "post-into", "post", "/", {"conversation_id": "{id}", "message": "complete it"}, "conversation"),
    ("token", "revoke", "post", "/settings/tokens/{id}/revoke", {}, "token_row"),
]


@pytest.mark.parametrize("resource, action, method, path, data, which", PAGE_CASES,
                         ids=[f"page-{case[0]}-{case[1]}" for case in PAGE_CASES])
def test_pages_answer_for_alices_id_as_for_one_that_never_existed(client, bob, alices, missing, unchanged, resource,
                                                                   action, method, path, data, which):
    client.force_login(bob)

    def ask(key):
        form = {name: str(key) if value == "{id}" else value for name, value in (data or {}).items()}
        return getattr(client, method)(path.format(id=key), form)

    key, never = alices_key(alices, which), getattr(missing, MISSING_OF[which])
    for_alices = ask(key)
    assert for_alices.status_code == 404
    assert_nothing_of_alices(for_alices.content.decode(errors="replace"))
    assert admin_answer(for_alices, key, never) == admin_answer(ask(never), key, never)


@pytest.mark.parametrize("path", ["/", "/?new=1", "/?partial=tasks", "/settings/", "/tasks/"],
                         ids=["page-chat", "page-chat-new", "page-task-panel", "page-settings-tokens",
                              "page-dashboard"])
def test_pages_show_bob_nothing_of_alices(client, bob, alices, bobs, unchanged, path):
    client.force_login(bob)
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert_nothing_of_alices(page)
    assert alices.token_row.prefix not in page
