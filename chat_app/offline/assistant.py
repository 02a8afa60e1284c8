"""The offline assistant's turn engine: an intent carried out through the MCP tools.

`OfflineAssistant.respond()` parses a message (intents.py), finds the task it
names (fuzzy by title, asking which one when several fit), acts through a
ToolSession — the same tools the agent and outside MCP clients use — and has
wording.py say what happened.  `memory_from()` rebuilds what it remembers of
the conversation ("it", "show more", an open question) from the tool calls
stored with earlier messages, so nothing but those messages is kept.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .. import confirmations
from ..models import Message
from ..toolbox import ToolFailed, ToolSession
from . import undoing, wording
from .intents import DEFAULT_REMINDER_FIELD, KEEP_TIME_FIELD, Intent, Ref, parse
from .planning import PlanningTurns
from .phrases import normalize, unquote

# The tools whose result is one task: the task "it" means afterwards.
TASK_RESULT_TOOLS = {"add_task", "get_task", "update_task", "complete_task", "reopen_task"}
# The page sizes of the lookups `_resolve` makes to find a task by name: such a list was not shown to the user.
LOOKUP_LIMIT, LOOKUP_FALLBACK_LIMIT = 50, 200


def _shown_list(call: dict[str, Any]) -> bool:
    """A list_tasks call whose result the user was shown (not a lookup of a task by its name)."""
    return call["name"] == "list_tasks" and (call.get("arguments") or {}).get("limit") not in {
        LOOKUP_LIMIT, LOOKUP_FALLBACK_LIMIT}


@dataclass
class Memory:
    """What earlier turns of the conversation leave for this one."""

    last_task: dict[str, Any] | None = None      # {"id", "title"} of the last task mentioned
    last_list: dict[str, Any] | None = None      # {"arguments", "next_cursor"} of the last list_tasks call
    pending: dict[str, Any] | None = None        # {"message", "candidates": [{"id", "title"}]}
    # The tasks the last list showed, in order ("the second", "the last one"): at most a bubble's worth.
    listed: list[dict[str, Any]] = field(default_factory=list)
    # The previous turn listed several tasks: "it" could be any of them, so it is asked, not guessed.
    it_is_one_of_listed: bool = False
    # No task was added since that list: "the last one" is its last task (else the task just added).
    listed_is_current: bool = False


@dataclass
class Reply:
    text: str
    pending: dict[str, Any] | None = None


class NeedChoice(Exception):
    def __init__(self, candidates: list[dict[str, Any]]):
        super().__init__("ambiguous")
        self.candidates = candidates


class NoSuchTask(Exception):
    pass


def memory_from(messages: list[Message]) -> Memory:
    """The last task mentioned ("mark it as done"), the last list (for "show more") and an open question."""
    memory = Memory()
    assistant_messages = [message for message in messages if message.role == Message.Role.ASSISTANT]
    if (assistant_messages and assistant_messages[-1].pending and messages[-1].role == Message.Role.ASSISTANT
            and "candidates" in assistant_messages[-1].pending):  # not a confirmation (chat_app.confirmations)
        memory.pending = assistant_messages[-1].pending
    newest_with_calls, added_since = True, False
    for message in reversed(assistant_messages):
        calls = [call for call in message.tool_calls or [] if "error" not in (call.get("result") or {})]
        if calls and newest_with_calls:
            newest_with_calls = False
            shown = (calls[-1].get("result") or {}).get("items", []) if _shown_list(calls[-1]) else []
            memory.it_is_one_of_listed = len(shown) > 1
        for call in reversed(calls):
            result = call.get("result") or {}
            added_since = added_since or (memory.last_list is None and call["name"] == "add_task")
            if memory.last_task is None:
                if call["name"] in TASK_RESULT_TOOLS and "id" in result:
                    memory.last_task = {"id": result["id"], "title": result.get("title", "")}
                elif call["name"] == "list_tasks" and len(result.get("items", [])) == 1:
                    memory.last_task = {"id": result["items"][0]["id"], "title": result["items"][0]["title"]}
        if memory.last_list is None and calls and _shown_list(calls[-1]):
            # A list the user asked for ends its turn; a lookup by name is followed by the change it was for.
            memory.last_list = {"arguments": calls[-1]["arguments"],
                                "next_cursor": (calls[-1].get("result") or {}).get("next_cursor")}
            memory.listed = list((calls[-1].get("result") or {}).get("items", []))[:wording.MAX_LISTED]
            memory.listed_is_current = not added_since
        if memory.last_task is not None and memory.last_list is not None:
            break
    return memory


class OfflineAssistant(PlanningTurns):
    def __init__(self, tools: ToolSession, *, now: datetime, memory: Memory | None = None,
                 default_reminder_minutes: int | None = None, week_start: int = 1, known_tags: Iterable[str] = ()):
        self.tools = tools
        # The user's tag names: "my travel tasks" is the tag travel only when the user has one.
        self.known_tags = tuple(known_tags)
        self.now = now  # in the user's zone
        self.memory = memory or Memory()
        # The user's lead time for "with a reminder" (their profile); None: at the due time.
        self.default_reminder_minutes = default_reminder_minutes
        self.week_start = week_start  # ISO weekday the user's weeks start on ("this week")

    async def respond(self, message: str) -> Reply:
        intent, origin = None, message
        if self.memory.pending:
            answer = self._answer_to_pending(normalize(message))
            if answer == "cancel":
                return Reply(wording.CANCELLED)
            if answer is not None:
                # The choice completes the message that asked for it.
                intent, origin = answer, self.memory.pending["message"]
        if intent is None:
            intent = parse(message, self.now, week_start=self.week_start, known_tags=self.known_tags)
        try:
            return await getattr(self, f"_do_{intent.kind}")(intent)
        except NeedChoice as choice:
            return self._ask_which(choice.candidates, origin)
        except NoSuchTask as missing:
            return Reply(str(missing))
        except ToolFailed as failed:
            return Reply(wording.tool_failed(failed))

    # -- disambiguation

    def _answer_to_pending(self, text: str) -> Intent | str | None:
        pending = self.memory.pending
        candidates = pending["candidates"]
        if re.fullmatch(r"(?:cancel|never\s*mind|nevermind|neither|none|no|stop)", text, re.I):
            return "cancel"
        chosen = None
        ordinals = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
        match = re.fullmatch(r"(?:the\s+)?(?:number\s+|no\.?\s*|#)?(\d+)(?:st|nd|rd|th)?(?:\s+one)?", text, re.I)
        word = re.fullmatch(r"(?:the\s+)?(first|second|third|fourth|fifth|last)(?:\s+one)?", text, re.I)
        if match:
            number = int(match.group(1))
            by_id = [c for c in candidates if c["id"] == number]
            if text.lstrip().startswith("#") and by_id:
                chosen = by_id[0]
            elif 1 <= number <= len(candidates):
                chosen = candidates[number - 1]
            elif by_id:
                chosen = by_id[0]
        elif word:
            index = len(candidates) if word.group(1).lower() == "last" else ordinals[word.group(1).lower()]
            if index <= len(candidates):
                chosen = candidates[index - 1]
        else:
            exact = [c for c in candidates if c["title"].casefold() == unquote(text).casefold()]
            if len(exact) == 1:
                chosen = exact[0]
        if chosen is None:
            return None
        return replace(parse(pending["message"], self.now, week_start=self.week_start, known_tags=self.known_tags),
                       ref=Ref("id", chosen["id"]))

    def _ask_which(self, candidates: list[dict[str, Any]], message: str) -> Reply:
        return Reply(
            wording.which_one(candidates, self.now),
            pending={"message": message, "candidates": [{"id": c["id"], "title": c["title"]} for c in candidates]},
        )

    # -- carrying out

    async def _do_help(self, intent: Intent) -> Reply:
        return Reply(wording.help_reply(intent.note))

    async def _do_unknown(self, intent: Intent) -> Reply:
        return Reply(wording.not_understood(intent.note))

    async def _do_add(self, intent: Intent) -> Reply:
        arguments = dict(intent.fields)
        if arguments.pop(DEFAULT_REMINDER_FIELD, False):
            arguments["reminder_minutes_before"] = self.default_reminder_minutes or 0
        if "due_at" in arguments:
            arguments["due_at"] = arguments["due_at"].isoformat()
        task = await self.tools.call("add_task", **arguments)
        return Reply(wording.added(task, self.now))

    async def _do_snooze(self, intent: Intent) -> Reply:
        newest = (await self.tools.call("list_notifications", limit=1))["items"]
        if not newest:
            return Reply(wording.NOTHING_TO_SNOOZE)
        snoozed = await self.tools.call("snooze_notification", notification_id=newest[0]["id"],
                                        minutes=intent.fields["minutes"])
        return Reply(wording.snoozed(newest[0], snoozed, self.now))

    async def _do_timezone(self, intent: Intent) -> Reply:
        if "unknown" in intent.fields:
            return Reply(wording.unknown_timezone(intent.fields["unknown"]))
        if "timezone" not in intent.fields:
            return Reply(wording.current_timezone(self.now))
        changed = await self.tools.call("set_timezone", timezone=intent.fields["timezone"])
        return Reply(wording.timezone_changed(changed))

    async def _do_find(self, intent: Intent) -> Reply:
        arguments = {key: (value.isoformat() if isinstance(value, datetime) else value)
                     for key, value in intent.fields.items()}
        page = await self.tools.call("list_tasks", **arguments)
        return Reply(wording.task_page(page, intent.fields, self.now))

    async def _do_more(self, intent: Intent) -> Reply:
        last = self.memory.last_list
        if not last or not last.get("next_cursor"):
            return Reply(wording.NOTHING_MORE)
        arguments = {**last["arguments"], "cursor": last["next_cursor"]}
        page = await self.tools.call("list_tasks", **arguments)
        return Reply(wording.task_page(page, arguments, self.now, more=True))

    async def _do_show(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "show")
        return Reply(wording.details(task, self.now))

    async def _do_tags(self, intent: Intent) -> Reply:
        tags = (await self.tools.call("list_tags"))["tags"]
        return Reply(wording.tags(tags) if tags else wording.NO_TAGS)

    async def _do_notifications(self, intent: Intent) -> Reply:
        unread_only = intent.fields.get("unread_only")
        result = await self.tools.call("list_notifications", unread_only=unread_only or None)
        return Reply(wording.notifications(result["items"], unread_only=bool(unread_only), now=self.now))

    async def _do_complete(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "complete")
        if task.get("completed"):
            return Reply(wording.already_done(task))
        done = await self.tools.call("complete_task", task_id=task["id"])
        return Reply(wording.completed(done))

    async def _do_reopen(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "reopen")
        if not task.get("completed"):
            return Reply(wording.not_done(task))
        reopened = await self.tools.call("reopen_task", task_id=task["id"])
        return Reply(wording.reopened(reopened))

    async def _do_delete(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "delete")
        deleted = await self.tools.call("delete_task", task_id=task["id"])
        return Reply(wording.deleted(deleted))

    async def _do_undo(self, intent: Intent) -> Reply:
        return Reply(undoing.undone(await self.tools.call("undo", count=intent.fields["count"])))

    async def _do_bulk(self, intent: Intent) -> Reply:
        """Several tasks at once: a preview now, the action only after the user's yes."""
        action = intent.fields["action"]
        arguments = {key: (value.isoformat() if isinstance(value, datetime) else value)
                     for key, value in intent.fields["filters"].items()}
        page = await self.tools.call("list_tasks", **arguments, limit=confirmations.MAX_TASKS_PER_ACTION)
        if not page["items"]:
            return Reply(wording.task_page(page, intent.fields["filters"], self.now))
        pending = confirmations.pending_action(action=action, tasks=page["items"], now=self.now)
        return Reply(confirmations.preview(pending, total=page["count"]), pending=pending)

    async def _do_change(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "change")
        fields = dict(intent.fields)
        if fields.pop(KEEP_TIME_FIELD, False) and task.get("due_at"):  # a new day, the same time of day
            kept = datetime.fromisoformat(task["due_at"]).astimezone(self.now.tzinfo)
            fields["due_at"] = fields["due_at"].replace(hour=kept.hour, minute=kept.minute, second=0)
        arguments: dict[str, Any] = {"task_id": task["id"]}
        for name in ("title", "priority"):
            if name in fields:
                arguments[name] = fields[name]
        if "due_at" in fields:
            if fields["due_at"] is None:
                arguments["clear"] = ["due_at"]
            else:
                arguments["due_at"] = fields["due_at"].isoformat()
        current = list(task.get("tags") or [])
        if "tags" in fields:
            arguments["tags"] = fields["tags"]
        if "tags_add" in fields:
            arguments["tags"] = current + [t for t in fields["tags_add"]
                                           if t.casefold() not in {c.casefold() for c in current}]
        if "tags_remove" in fields:
            removing = {t.casefold() for t in fields["tags_remove"]}
            missing = [t for t in fields["tags_remove"] if t.casefold() not in {c.casefold() for c in current}]
            if len(missing) == len(fields["tags_remove"]):
                return Reply(wording.missing_tags(task, missing))
            arguments["tags"] = [t for t in current if t.casefold() not in removing]
        updated = await self.tools.call("update_task", **arguments)
        return Reply(wording.updated(task, fields, arguments.get("tags"), updated, self.now))

    # -- finding the task a message names

    async def _resolve(self, ref: Ref | None, action: str) -> dict[str, Any]:
        if ref is not None and ref.kind == "nth":
            return await self._resolve_nth(ref.value)
        if ref is None or ref.kind == "last":
            if self.memory.it_is_one_of_listed and self.memory.listed:
                raise NeedChoice(self.memory.listed)
            if not self.memory.last_task:
                raise NoSuchTask(wording.UNSURE_WHICH)
            return await self.tools.call("get_task", task_id=self.memory.last_task["id"])
        if ref.kind == "id":
            try:
                return await self.tools.call("get_task", task_id=ref.value)
            except ToolFailed:
                raise NoSuchTask(wording.no_task_numbered(ref.value)) from None
        wanted = ref.value.strip()
        prefer_done = {"reopen": True, "complete": False, "change": False, "delete": False}.get(action)
        page = await self.tools.call("list_tasks", q=wanted, limit=LOOKUP_LIMIT)
        matches = self._fuzzy(wanted, page["items"])
        if not matches:
            fallback = {"limit": LOOKUP_FALLBACK_LIMIT}
            if prefer_done is not None:
                fallback["completed"] = prefer_done
            page = await self.tools.call("list_tasks", **fallback)
            matches = self._fuzzy(wanted, page["items"])
        if not matches:
            raise NoSuchTask(wording.no_task_matching(wanted))
        if prefer_done is not None:
            preferred = [task for score, task in matches if bool(task.get("completed")) == prefer_done]
            if preferred:
                matches = [(score, task) for score, task in matches if task in preferred]
        best_score = matches[0][0]
        exact = [task for score, task in matches if score >= 1.0]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise NeedChoice(exact[:5])
        close = [task for score, task in matches if best_score - score < 0.1]
        if len(close) == 1:
            return close[0]
        raise NeedChoice(close[:5])

    async def _resolve_nth(self, place: int) -> dict[str, Any]:
        """ "the second" is the second task of the last list shown; "the last one" its last, or the task
        added since that list (or mentioned, when no list was shown)."""
        listed = self.memory.listed
        if place == -1 and (not listed or not self.memory.listed_is_current) and self.memory.last_task:
            return await self.tools.call("get_task", task_id=self.memory.last_task["id"])
        if not listed:
            raise NoSuchTask(wording.NO_LIST_FOR_PLACE)
        if place == 0 or place > len(listed):
            raise NoSuchTask(wording.no_such_place(place, len(listed)))
        chosen = listed[place - 1] if place > 0 else listed[-1]
        try:
            return await self.tools.call("get_task", task_id=chosen["id"])
        except ToolFailed:
            raise NoSuchTask(wording.no_task_numbered(chosen["id"])) from None

    @staticmethod
    def _fuzzy(wanted: str, tasks: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
        key = wanted.casefold()
        scored = []
        for task in tasks:
            title = task["title"].casefold()
            if title == key:
                score = 1.0
            else:
                score = difflib.SequenceMatcher(None, key, title).ratio()
                if key in title or title in key:
                    score = max(score, 0.75 + 0.2 * min(len(key), len(title)) / max(len(key), len(title)))
                score = min(score, 0.99)
            if score >= 0.6:
                scored.append((score, task))
        scored.sort(key=lambda pair: (-pair[0], pair[1]["id"]))
        return scored
