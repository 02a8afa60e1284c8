"""The offline assistant: a deterministic parser from a message to MCP tool calls.

Used when no OPENAI_API_KEY is configured.  `parse()` turns a message into an
intent (pure, testable without a database); `OfflineAssistant.respond()` carries
it out through a ToolSession — the same MCP tools the agent uses — and answers
in plain words.  What it cannot read it says so, rather than guessing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from . import phrases
from .phrases import When, normalize, unquote
from .toolbox import ToolFailed, ToolSession

HELP = (
    "I can add tasks (“Add a P1 task called 'Send invoice' due tomorrow 5pm tagged work”), "
    "list and search them (“show my P1 tasks tagged work sorted by due date”, “what's overdue?”, "
    "“find tasks about the report”), and complete, reopen, delete, rename or change them "
    "(“mark 'Send invoice' as done”, “move it to Friday”, “make it urgent”, “tag it with finance”)."
)
LAST_TASK_WORDS = r"(?:it|that|this|that one|this one|that task|this task|the task|the last one|the last task|them)"
MAX_LISTED = 20


# --------------------------------------------------------------------------- intents


@dataclass(frozen=True)
class Ref:
    """How a message names a task: the last one mentioned, an id, or (part of) its title."""

    kind: str  # "last" | "id" | "title"
    value: Any = None


@dataclass(frozen=True)
class Intent:
    kind: str  # add, find, more, complete, reopen, delete, change, show, tags, notifications, help, unknown
    ref: Ref | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def parse(message: str, now: datetime) -> Intent:
    text = normalize(message)
    if not text:
        return Intent("unknown", note="an empty message")
    for parser in (_parse_help, _parse_more, _parse_tags_list, _parse_notifications, _parse_reopen, _parse_complete,
                   _parse_tag_change, _parse_due_change, _parse_rename, _parse_priority_change, _parse_delete,
                   _parse_show, _parse_find, _parse_add):
        intent = parser(text, now)
        if intent is not None:
            return intent
    return Intent("unknown", note=f"“{text}”")


def _ref(text: str) -> Ref:
    text = unquote(normalize(text))
    text = re.sub(r"^(?:my|the)\s+(?=task\b)", "", text, flags=re.I)
    if re.fullmatch(LAST_TASK_WORDS, text, re.I):
        return Ref("last")
    match = re.fullmatch(r"(?:task\s*)?(?:#|number\s+|no\.?\s*)(\d+)|task\s+(\d+)", text, re.I)
    if match:
        return Ref("id", int(match.group(1) or match.group(2)))
    text = re.sub(r"^(?:the\s+)?(?:task|todo|to-do)\s+(?:called|named|titled)\s+", "", text, flags=re.I)
    text = re.sub(r"^(?:the|my)\s+(?:task|todo|to-do)\s+", "", text, flags=re.I)
    return Ref("title", unquote(text))


def _parse_help(text: str, now: datetime) -> Intent | None:
    if re.fullmatch(r"(?:help|\?|what can you do|how does (?:this|it) work|commands|hi|hello|hey|"
                    r"good (?:morning|afternoon|evening)|thanks?|thank you)(?:\s+\w+)?", text, re.I):
        return Intent("help", note=text)
    return None


def _parse_more(text: str, now: datetime) -> Intent | None:
    if re.fullmatch(r"(?:show\s+(?:me\s+)?)?(?:more|the\s+next\s+page|next\s+page|next|load\s+more|continue|"
                    r"more\s+please|show\s+more\s+tasks)", text, re.I):
        return Intent("more")
    return None


def _parse_tags_list(text: str, now: datetime) -> Intent | None:
    if re.fullmatch(r"(?:(?:show|list|display|get|give)\s+(?:me\s+)?|what\s+are\s+|which\s+are\s+)?(?:all\s+)?"
                    r"(?:of\s+)?(?:my\s+)?(?:tags|labels)|what\s+(?:tags|labels)\s+do\s+i\s+(?:have|use)|"
                    r"which\s+(?:tags|labels)\s+(?:do\s+i\s+have|are\s+there)", text, re.I):
        return Intent("tags")
    return None


def _parse_notifications(text: str, now: datetime) -> Intent | None:
    if re.search(r"\bnotifications?\b|^(?:any|show|list)\s+(?:me\s+)?(?:my\s+)?(?:new\s+|unread\s+)?"
                 r"(?:reminders|alerts)$", text, re.I):
        return Intent("notifications", fields={"unread_only": bool(re.search(r"\b(?:unread|new)\b", text, re.I))})
    return None


_COMPLETE = [
    r"(?:please\s+)?(?:mark|set|flag)\s+(?P<ref>.+?)\s+(?:as\s+)?(?:complete|completed|done|finished)",
    r"(?:please\s+)?(?:complete|finish|check\s+off|tick\s+off|close)\s+(?P<ref>.+)",
    r"(?P<ref>.+?)\s+is\s+(?:now\s+)?(?:done|complete|completed|finished)",
    r"i(?:'ve|\s+have)?\s+(?:finished|completed|done)\s+(?P<ref>.+)",
    r"(?:done|finished)\s+(?:with\s+)?(?P<ref>.+)",
]
_REOPEN = [
    r"(?:please\s+)?(?:mark|set)\s+(?P<ref>.+?)\s+(?:as\s+)?(?:not\s+(?:done|complete|completed|finished)|"
    r"incomplete|undone|open|uncompleted|to\s*do|pending)",
    r"(?:please\s+)?(?:reopen|re-open|uncomplete|unfinish|unmark|undo)\s+(?P<ref>.+)",
]


def _first_match(patterns: list[str], text: str) -> re.Match | None:
    for pattern in patterns:
        match = re.fullmatch(pattern, text, re.I)
        if match:
            return match
    return None


def _parse_complete(text: str, now: datetime) -> Intent | None:
    match = _first_match(_COMPLETE, text)
    return Intent("complete", ref=_ref(match.group("ref"))) if match else None


def _parse_reopen(text: str, now: datetime) -> Intent | None:
    match = _first_match(_REOPEN, text)
    return Intent("reopen", ref=_ref(match.group("ref"))) if match else None


def _parse_delete(text: str, now: datetime) -> Intent | None:
    match = re.fullmatch(r"(?:please\s+)?(?:delete|remove|trash|erase|drop|discard|get\s+rid\s+of)\s+(?P<ref>.+)",
                         text, re.I)
    return Intent("delete", ref=_ref(match.group("ref"))) if match else None


def _parse_rename(text: str, now: datetime) -> Intent | None:
    match = _first_match([
        r"rename\s+(?P<ref>.+?)\s+(?:to|as)\s+(?P<new>.+)",
        r"(?:change|update|set)\s+(?:the\s+)?(?:title|name)\s+of\s+(?P<ref>.+?)\s+to\s+(?P<new>.+)",
        r"(?:change|update|set)\s+(?P<ref>.+?)(?:'s)?\s+(?:title|name)\s+to\s+(?P<new>.+)",
    ], text)
    if not match:
        return None
    return Intent("change", ref=_ref(match.group("ref")), fields={"title": unquote(match.group("new"))})


_PRIORITY_TARGET = (r"(?P<p>p[1-4]|priority\s+[1-4]|urgent|critical|top\s+priority|high(?:[\s-]priority)?|"
                    r"(?:medium|normal)(?:\s+priority)?|low(?:[\s-]priority)?|lowest\s+priority)")


def _parse_priority_change(text: str, now: datetime) -> Intent | None:
    match = _first_match([
        r"(?:change|set|update|raise|lower)\s+(?:the\s+)?priority\s+(?:of|for|on)\s+(?P<ref>.+?)\s+to\s+(?P<p>.+)",
        r"(?:change|set|update|raise|lower)\s+(?P<ref>.+?)(?:'s)?\s+priority\s+to\s+(?P<p>.+)",
        rf"(?:make|mark|set|change)\s+(?P<ref>.+?)\s+(?:as\s+|to\s+)?(?:an?\s+)?{_PRIORITY_TARGET}(?:\s+task)?",
        rf"(?:prioriti[sz]e)\s+(?P<ref>.+?)\s+(?:as\s+|to\s+){_PRIORITY_TARGET}",
    ], text)
    if not match:
        return None
    priority = phrases.priority_from_words(match.group("p"))
    if priority is None:
        return Intent("unknown", note=f"the priority “{match.group('p')}” (use P1–P4, urgent, high or low)")
    return Intent("change", ref=_ref(match.group("ref")), fields={"priority": priority})


def _parse_due_change(text: str, now: datetime) -> Intent | None:
    clear = re.fullmatch(r"(?:remove|clear|delete|drop)\s+(?:the\s+)?(?:due\s+date|deadline|due\s+time)\s+"
                         r"(?:of|from|for|on)\s+(?P<ref>.+)", text, re.I)
    if clear:
        return Intent("change", ref=_ref(clear.group("ref")), fields={"due_at": None})
    match = _first_match([
        r"(?:move|reschedule|postpone|push|defer|shift|delay)\s+(?P<ref>.+?)\s+(?:back\s+)?(?:to|until|till|for)\s+"
        r"(?P<when>.+)",
        r"(?:change|set|update)\s+(?:the\s+)?(?:due\s+date|deadline|due\s+time|date)\s+(?:of|for|on)\s+(?P<ref>.+?)\s+"
        r"to\s+(?P<when>.+)",
        r"(?:change|set|update)\s+(?P<ref>.+?)(?:'s)?\s+(?:due\s+date|deadline)\s+to\s+(?P<when>.+)",
        r"(?:make|set)\s+(?P<ref>.+?)\s+due\s+(?P<when>.+)",
        r"(?P<ref>.+?)\s+is\s+(?:now\s+)?due\s+(?P<when>.+)",
    ], text)
    if not match:
        return None
    when = phrases.parse_when(match.group("when"), now)
    if when is None:
        return Intent("unknown", note=f"“{match.group('when')}” as a date or time")
    return Intent("change", ref=_ref(match.group("ref")), fields={"due_at": when.at})


def _parse_tag_change(text: str, now: datetime) -> Intent | None:
    adding = _first_match([
        r"(?:tag|label)\s+(?P<ref>.+?)\s+(?:with|as)\s+(?P<tags>.+)",
        r"add\s+(?:the\s+)?(?:tags?|labels?)\s+(?P<tags>.+?)\s+to\s+(?P<ref>.+)",
    ], text)
    if adding:
        return Intent("change", ref=_ref(adding.group("ref")),
                      fields={"tags_add": phrases.split_tag_list(adding.group("tags"))})
    removing_all = re.fullmatch(r"(?:remove|clear|delete|drop)\s+(?:all\s+)?(?:the\s+)?(?:tags|labels)\s+"
                                r"(?:from|of|on)\s+(?P<ref>.+)|untag\s+(?P<ref2>.+)", text, re.I)
    if removing_all:
        return Intent("change", ref=_ref(removing_all.group("ref") or removing_all.group("ref2")), fields={"tags": []})
    removing = re.fullmatch(r"(?:remove|delete|drop|take)\s+(?:the\s+)?(?:tags?|labels?)\s+(?P<tags>.+?)\s+"
                            r"(?:off\s+|from\s+)(?P<ref>.+)", text, re.I)
    if removing:
        return Intent("change", ref=_ref(removing.group("ref")),
                      fields={"tags_remove": phrases.split_tag_list(removing.group("tags"))})
    setting = re.fullmatch(r"(?:change|set|replace)\s+(?:the\s+)?(?:tags|labels)\s+(?:of|for|on)\s+(?P<ref>.+?)\s+"
                           r"to\s+(?P<tags>.+)", text, re.I)
    if setting:
        return Intent("change", ref=_ref(setting.group("ref")),
                      fields={"tags": phrases.split_tag_list(setting.group("tags"))})
    return None


def _parse_show(text: str, now: datetime) -> Intent | None:
    match = _first_match([
        r"(?:show|get|open|view|display)\s+(?:me\s+)?(?P<ref>(?:task\s*)?#\d+|task\s+\d+)",
        r"(?:show\s+(?:me\s+)?)?(?:the\s+)?details\s+(?:of|for|on|about)\s+(?P<ref>.+)",
        r"tell\s+me\s+(?:more\s+)?about\s+(?P<ref>.+)",
    ], text)
    if not match or re.search(r"\b(?:my\s+)?(?:tasks|todos)\b", match.group("ref"), re.I):
        return None
    return Intent("show", ref=_ref(match.group("ref")))


_FIND_START = re.compile(
    r"^(?:please\s+)?(?:can\s+you\s+)?(?:show|list|display|find|search|look\s+(?:for|up)|what|what's|whats|which|"
    r"give\s+me|get|any|anything|do\s+i\s+have|are\s+there|is\s+there|view|see|how\s+many)\b", re.I)


def _parse_find(text: str, now: datetime) -> Intent | None:
    if not _FIND_START.search(text):
        return None
    rest = text
    args: dict[str, Any] = {}

    priorities, rest = phrases.take_all_priorities(rest)
    if priorities:
        args["priorities"] = priorities
    tags, rest = phrases.take_tags(rest)
    if tags:
        args["tags"] = tags
    sort, rest = phrases.take_sort(rest)

    match = re.search(r"\b(?:about|containing|mentioning|matching|regarding|related\s+to|that\s+mentions?|"
                      r"with\s+the\s+words?|called|named|titled|for)\s+(?P<q>.+)$", rest, re.I)
    if match is None:
        match = re.search(r"^(?:find|search(?:\s+for)?|look\s+(?:for|up))\s+(?:my\s+)?(?!(?:all\s+)?(?:my\s+)?"
                          r"(?:open\s+|completed\s+|done\s+)?(?:tasks?|todos?)\b)(?P<q>.+)$", rest, re.I)
    if match is not None:
        query = re.sub(r"^(?:the|a|an|my)\s+", "", unquote(match.group("q").strip()), flags=re.I)
        query = re.sub(r"\s+(?:tasks?|todos?)$", "", query, flags=re.I)
        if query:
            args["q"] = query
        rest = rest[: match.start()]

    lowered = rest.lower()
    if re.search(r"\b(?:overdue|late|past\s+due)\b", lowered):
        args["overdue"] = True
    if re.search(r"\b(?:without|with\s+no|no)\s+(?:a\s+)?(?:due\s+date|deadline)|\bundated\b", lowered):
        args["has_due"] = False
    elif re.search(r"\bwith\s+(?:a\s+)?(?:due\s+date|deadline)\b", lowered):
        args["has_due"] = True

    window = _due_window(lowered, now)
    if window:
        args.update(window)

    if re.search(r"\b(?:not\s+done|not\s+completed|incomplete|unfinished|open|pending|remaining|outstanding|"
                 r"to\s*do)\b", lowered):
        args["completed"] = False
    elif re.search(r"\b(?:completed|done|finished)\b", lowered):
        args["completed"] = True
    elif re.search(r"\ball\b", lowered) or "q" in args:
        pass
    else:
        args["completed"] = False

    limit = re.search(r"\b(?:top|first)\s+(\d{1,3})\b", lowered)
    if limit:
        args["limit"] = max(1, min(int(limit.group(1)), 200))
    if sort is None and ("overdue" in args or "due_before" in args or "due_after" in args):
        sort = "due_at"
    if sort:
        args["sort"] = sort
    if not args.get("q") and not re.search(r"\b(?:tasks?|todos?|to-dos?|overdue|due|anything|everything|"
                                           r"what\s+do\s+i\s+have|how\s+many)\b", text, re.I) and not (
            priorities or tags):
        return None
    return Intent("find", fields=args)


def _due_window(lowered: str, now: datetime) -> dict[str, Any] | None:
    start_of_today = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    relative = re.search(r"\bdue\s+(?P<rel>before|by|until|after|since)\s+(?P<when>.+?)(?=$|\s+(?:and|sorted|"
                         r"ordered|tagged|with)\b)", lowered)
    if relative:
        when = phrases.parse_when(relative.group("when"), now)
        if when is not None:
            bound = when.at if when.has_time else datetime.combine(when.at.date(), time.min, tzinfo=now.tzinfo)
            if relative.group("rel") in {"after", "since"}:
                return {"due_after": bound}
            return {"due_before": bound if relative.group("rel") == "before" or when.has_time else
                    bound + timedelta(days=1)}
    windows = {
        "today": (start_of_today, start_of_today + timedelta(days=1)),
        "tonight": (now, start_of_today + timedelta(days=1)),
        "tomorrow": (start_of_today + timedelta(days=1), start_of_today + timedelta(days=2)),
        "this week": (start_of_today - timedelta(days=now.weekday()),
                      start_of_today + timedelta(days=7 - now.weekday())),
        "next week": (start_of_today + timedelta(days=7 - now.weekday()),
                      start_of_today + timedelta(days=14 - now.weekday())),
    }
    match = re.search(r"\b(?:due\s+)?(today|tonight|tomorrow|this\s+week|next\s+week)\b", lowered)
    if match and (match.group(0).startswith("due") or re.search(r"\b(?:due|deadline|scheduled|planned|on\s+for|"
                                                                r"what's|whats|what\s+is|anything)\b", lowered)):
        after, before = windows[re.sub(r"\s+", " ", match.group(1))]
        return {"due_after": after, "due_before": before}
    upcoming = re.search(r"\b(?:due\s+)?in\s+the\s+next\s+(?P<n>\S+)\s+(?P<u>days?|weeks?|hours?)\b", lowered)
    if upcoming:
        try:
            count = phrases.number(upcoming.group("n"))
        except KeyError:
            return None
        unit = upcoming.group("u").rstrip("s")
        span = {"day": timedelta(days=count), "week": timedelta(weeks=count), "hour": timedelta(hours=count)}[unit]
        return {"due_after": now, "due_before": now + span}
    return None


_ADD_START = re.compile(
    r"^(?:please\s+)?(?:can\s+you\s+|could\s+you\s+)?(?P<verb>add|create|make(?!\s+(?:it|that|this|them)\b)|new|"
    r"schedule|put|plan|"
    r"remind\s+me\s+to|remember\s+to|i\s+need\s+to|i\s+have\s+to|i\s+must|don't\s+forget\s+to|todo:?|to-do:?)\b\s*",
    re.I)
TITLE_MARK = "\u2063title\u2063"


def _parse_add(text: str, now: datetime) -> Intent | None:
    start = _ADD_START.search(text)
    if not start:
        return None
    verb = start.group("verb").lower()
    title: str | None = None
    named = re.search(r"\b(?:called|named|titled)\s+(?:'(?P<s>[^']+)'|\"(?P<d>[^\"]+)\")", text, re.I) or re.match(
        _ADD_START.pattern + r"(?:(?:a|an|the|new|another)\s+)*(?:(?:task|todo|to-do|item)\s*:?\s*)?"
                             r"(?:'(?P<s>[^']+)'|\"(?P<d>[^\"]+)\")", text, re.I)
    if named:
        title = (named.group("s") or named.group("d")).strip()
        span = named.span("s") if named.group("s") else named.span("d")
        text = text[: span[0] - 1] + TITLE_MARK + text[span[1] + 1:]

    recurrence, text = phrases.take_recurrence(text)
    reminder, text = phrases.take_reminder(text)
    tags, text = phrases.take_tags(text)
    priority, text = phrases.take_priority(text)
    when, text = phrases.take_when(text, now)

    if title is None:
        rest = _ADD_START.sub("", text, count=1)
        rest = re.sub(r"^(?:(?:a|an|the|new|another)\s+)+", "", rest, flags=re.I)
        rest = re.sub(r"^(?:task|todo|to-do|item|reminder)s?\b\s*[:-]?\s*", "", rest, flags=re.I)
        rest = re.sub(r"^(?:called|named|titled|to|for|about)\s+", "", rest, flags=re.I)
        rest = re.sub(r"\s+(?:to|on|in)\s+(?:my\s+)?(?:list|todo\s+list|to-do\s+list|todos|tasks)$", "", rest,
                      flags=re.I)
        rest = re.sub(r"(?:\s+(?:and|with|that|which|it|due|,))+$", "", rest, flags=re.I).strip(" ,:-")
        title = unquote(rest)
        if title and title == title.lower():
            title = title[0].upper() + title[1:]
    if not title or TITLE_MARK in title:
        return Intent("unknown", note="what the new task should be called (put the title in quotes: "
                                      "add 'Buy milk' tomorrow)")

    fields: dict[str, Any] = {"title": title}
    if priority:
        fields["priority"] = priority
    if tags:
        fields["tags"] = tags
    if recurrence:
        fields["recurrence"] = recurrence
    due: When | None = when
    if due is None and recurrence:
        first = phrases.first_weekday_on_or_after(now, recurrence)
        if first is not None:
            due = When(at=first, has_time=False)
    if due is not None:
        fields["due_at"] = due.at
    if reminder is None and verb.startswith("remind") and due is not None:
        reminder = 0
    if reminder is not None:
        fields["reminder_minutes_before"] = reminder
    return Intent("add", fields=fields)


# --------------------------------------------------------------------------- memory and replies


@dataclass
class Memory:
    """What earlier turns of the conversation leave for this one."""

    last_task: dict[str, Any] | None = None      # {"id", "title"} of the last task mentioned
    last_list: dict[str, Any] | None = None      # {"arguments", "next_cursor"} of the last list_tasks call
    pending: dict[str, Any] | None = None        # {"message", "candidates": [{"id", "title"}]}


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


class OfflineAssistant:
    def __init__(self, tools: ToolSession, *, now: datetime, memory: Memory | None = None):
        self.tools = tools
        self.now = now
        self.memory = memory or Memory()

    async def respond(self, message: str) -> Reply:
        intent, origin = None, message
        if self.memory.pending:
            answer = self._answer_to_pending(normalize(message))
            if answer == "cancel":
                return Reply("OK, I've left it.")
            if answer is not None:
                # The choice completes the message that asked for it.
                intent, origin = answer, self.memory.pending["message"]
        if intent is None:
            intent = parse(message, self.now)
        try:
            return await getattr(self, f"_do_{intent.kind}")(intent)
        except NeedChoice as choice:
            return self._ask_which(choice.candidates, origin)
        except NoSuchTask as missing:
            return Reply(str(missing))
        except ToolFailed as failed:
            return Reply(f"I couldn't do that: {failed}.")

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
        return replace(parse(pending["message"], self.now), ref=Ref("id", chosen["id"]))

    def _ask_which(self, candidates: list[dict[str, Any]], message: str) -> Reply:
        lines = [f"{index}. {self._describe(task)}" for index, task in enumerate(candidates, start=1)]
        return Reply(
            "More than one task matches. Which one do you mean?\n" + "\n".join(lines)
            + "\nReply with its number (or “cancel”).",
            pending={"message": message, "candidates": [{"id": c["id"], "title": c["title"]} for c in candidates]},
        )

    # -- carrying out

    async def _do_help(self, intent: Intent) -> Reply:
        greeting = "" if re.match(r"(?:help|\?|what|how|commands)", intent.note, re.I) else "Hello! "
        if re.match(r"thank", intent.note, re.I):
            return Reply("You're welcome!")
        return Reply(greeting + HELP)

    async def _do_unknown(self, intent: Intent) -> Reply:
        return Reply(f"Sorry, I didn't understand {intent.note}. {HELP}")

    async def _do_add(self, intent: Intent) -> Reply:
        arguments = dict(intent.fields)
        if "due_at" in arguments:
            arguments["due_at"] = arguments["due_at"].isoformat()
        task = await self.tools.call("add_task", **arguments)
        extra = ""
        if task.get("reminder_minutes_before") is not None and not task.get("due_at"):
            extra = " It has no due date yet, so the reminder waits until it gets one."
        return Reply(f"Added {self._describe(task)}.{extra}")

    async def _do_find(self, intent: Intent) -> Reply:
        arguments = {key: (value.isoformat() if isinstance(value, datetime) else value)
                     for key, value in intent.fields.items()}
        page = await self.tools.call("list_tasks", **arguments)
        return Reply(self._describe_page(page, intent.fields))

    async def _do_more(self, intent: Intent) -> Reply:
        last = self.memory.last_list
        if not last or not last.get("next_cursor"):
            return Reply("There is nothing more to show. Ask for a list first, e.g. “show my tasks”.")
        arguments = {**last["arguments"], "cursor": last["next_cursor"]}
        page = await self.tools.call("list_tasks", **arguments)
        return Reply(self._describe_page(page, arguments, more=True))

    async def _do_show(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "show")
        lines = [self._describe(task)]
        if task.get("description"):
            lines.append(task["description"])
        lines.append("Done." if task.get("completed") else "Not done yet.")
        return Reply("\n".join(lines))

    async def _do_tags(self, intent: Intent) -> Reply:
        tags = (await self.tools.call("list_tags"))["tags"]
        if not tags:
            return Reply("You have no tags yet.")
        listed = ", ".join(f"#{tag['name']} ({tag['task_count']})" for tag in tags)
        return Reply(f"Your tags: {listed}.")

    async def _do_notifications(self, intent: Intent) -> Reply:
        result = await self.tools.call("list_notifications", unread_only=intent.fields.get("unread_only") or None)
        items = result["items"]
        if not items:
            return Reply("No unread notifications." if intent.fields.get("unread_only") else "No notifications.")
        lines = [f"• {item['message']} ({phrases.format_when(datetime.fromisoformat(item['created_at']), self.now)})"
                 + ("" if item.get("read_at") else " — new") for item in items]
        return Reply(f"{len(items)} notification{'s' if len(items) != 1 else ''}:\n" + "\n".join(lines))

    async def _do_complete(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "complete")
        if task.get("completed"):
            return Reply(f"“{task['title']}” was already done.")
        done = await self.tools.call("complete_task", task_id=task["id"])
        text = f"Marked “{done['title']}” as done."
        if done.get("recurrence"):
            text += (f" It repeats {phrases.describe_recurrence(done['recurrence'])}, so the next one will appear "
                     "in your list in a moment.")
        return Reply(text)

    async def _do_reopen(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "reopen")
        if not task.get("completed"):
            return Reply(f"“{task['title']}” is not done, so there is nothing to reopen.")
        reopened = await self.tools.call("reopen_task", task_id=task["id"])
        return Reply(f"Reopened “{reopened['title']}”.")

    async def _do_delete(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "delete")
        deleted = await self.tools.call("delete_task", task_id=task["id"])
        return Reply(f"Deleted “{deleted['title']}”.")

    async def _do_change(self, intent: Intent) -> Reply:
        task = await self._resolve(intent.ref, "change")
        fields = dict(intent.fields)
        arguments: dict[str, Any] = {"task_id": task["id"]}
        said: list[str] = []
        if "title" in fields:
            arguments["title"] = fields["title"]
            said.append(f"renamed it to “{fields['title']}”")
        if "priority" in fields:
            arguments["priority"] = fields["priority"]
            said.append(f"set its priority to {fields['priority']}")
        if "due_at" in fields:
            if fields["due_at"] is None:
                arguments["clear"] = ["due_at"]
                said.append("removed its due date")
            else:
                arguments["due_at"] = fields["due_at"].isoformat()
                said.append(f"moved it to {phrases.format_when(fields['due_at'], self.now)}")
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
                return Reply(f"“{task['title']}” has no tag {', '.join('#' + t for t in missing)}.")
            arguments["tags"] = [t for t in current if t.casefold() not in removing]
        if "tags" in arguments:
            said.append("tagged it " + (" ".join(f"#{t}" for t in arguments["tags"]) if arguments["tags"]
                                        else "with nothing (all tags removed)"))
        updated = await self.tools.call("update_task", **arguments)
        return Reply(f"Updated “{task['title']}”: {', '.join(said)}. Now: {self._describe(updated)}.")

    # -- finding the task a message names

    async def _resolve(self, ref: Ref | None, action: str) -> dict[str, Any]:
        if ref is None or ref.kind == "last":
            if not self.memory.last_task:
                raise NoSuchTask("I'm not sure which task you mean. Name it, e.g. “mark 'Buy milk' as done”.")
            return await self.tools.call("get_task", task_id=self.memory.last_task["id"])
        if ref.kind == "id":
            try:
                return await self.tools.call("get_task", task_id=ref.value)
            except ToolFailed:
                raise NoSuchTask(f"I couldn't find task #{ref.value}.") from None
        wanted = ref.value.strip()
        prefer_done = {"reopen": True, "complete": False, "change": False, "delete": False}.get(action)
        page = await self.tools.call("list_tasks", q=wanted, limit=50)
        matches = self._fuzzy(wanted, page["items"])
        if not matches:
            fallback = {"limit": 200} if prefer_done is None else {"limit": 200, "completed": prefer_done}
            page = await self.tools.call("list_tasks", **fallback)
            matches = self._fuzzy(wanted, page["items"])
        if not matches:
            raise NoSuchTask(f"I couldn't find a task matching “{wanted}”.")
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

    # -- words

    def _describe(self, task: dict[str, Any]) -> str:
        details = [task.get("priority", "P3")]
        if task.get("due_at"):
            details.append("due " + phrases.format_when(datetime.fromisoformat(task["due_at"]), self.now))
        if task.get("tags"):
            details.append(" ".join(f"#{tag}" for tag in task["tags"]))
        if task.get("recurrence"):
            details.append(phrases.describe_recurrence(task["recurrence"]))
        if task.get("reminder_minutes_before") is not None:
            details.append("reminder " + phrases.format_minutes(task["reminder_minutes_before"]))
        if task.get("completed"):
            details.append("done")
        return f"“{task['title']}” (#{task['id']}; {', '.join(details)})"

    def _describe_page(self, page: dict[str, Any], arguments: dict[str, Any], *, more: bool = False) -> str:
        what = self._describe_filters(arguments)
        items = page["items"]
        if not items:
            return f"No {what}." if not more else "That was all."
        count = page["count"]
        head = (f"{count} {what}" if count != 1 else f"1 {what.replace('tasks', 'task', 1)}")
        sort = arguments.get("sort")
        if sort:
            head += ", " + {"due_at": "soonest due first", "-due_at": "latest due first", "priority": "P1 first",
                            "-priority": "P4 first", "created_at": "oldest first", "-created_at": "newest first",
                            "title": "by title", "relevance": "best match first"}.get(sort, f"sorted by {sort}")
        lines = [f"{index}. {self._describe(task)}" for index, task in enumerate(items[:MAX_LISTED], start=1)]
        text = (head if not more else "More " + what) + ":\n" + "\n".join(lines)
        if page.get("next_cursor"):
            text += "\nThere are more: say “show more”."
        return text

    def _describe_filters(self, arguments: dict[str, Any]) -> str:
        words = []
        if arguments.get("overdue"):
            words.append("overdue")
        elif arguments.get("completed") is False:
            words.append("open")
        elif arguments.get("completed") is True:
            words.append("completed")
        if arguments.get("priorities"):
            words.append("/".join(arguments["priorities"]))
        text = " ".join(words + ["tasks"])
        if arguments.get("tags"):
            text += " tagged " + " and ".join(arguments["tags"])
        if arguments.get("q"):
            text += f" matching “{arguments['q']}”"
        if arguments.get("has_due") is False:
            text += " without a due date"
        elif arguments.get("has_due") is True:
            text += " with a due date"
        after, before = arguments.get("due_after"), arguments.get("due_before")
        after = datetime.fromisoformat(after) if isinstance(after, str) else after
        before = datetime.fromisoformat(before) if isinstance(before, str) else before
        if after and before:
            text += f" due between {phrases.format_when(after, self.now)} and {phrases.format_when(before, self.now)}"
        elif before:
            text += f" due before {phrases.format_when(before, self.now)}"
        elif after:
            text += f" due after {phrases.format_when(after, self.now)}"
        return text
