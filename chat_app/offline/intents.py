"""The offline assistant's grammar: a message parsed into an `Intent`, pure.

`parse(message, now)` tries one small parser per kind of request (add, find,
complete, change, …) in a fixed order, the more specific first, and returns the
first intent that fits; what none of them reads comes back as "unknown" with a
note saying what was not understood.  No database and no tools here: "now" is
passed in (in the user's zone), so every rule can be tested on its own.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime, time, timedelta
from typing import Any

from . import phrases, recurrence_phrases, wording, zones
from .phrases import When, normalize, unquote
from .undoing import parse_undo

# Set on an "add" intent whose reminder was asked for without minutes; not a tool argument.
DEFAULT_REMINDER_FIELD = "reminder_lead_is_default"
# Set on a "change" intent that moves a task to a day without saying the time ("move this week's standup to
# Friday"): the task keeps its time of day; not a tool argument.
KEEP_TIME_FIELD = "due_day_only"

LAST_TASK_WORDS = r"(?:it|that|this|that one|this one|that task|this task|the task|them)"
ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
                 "ninth": 9, "tenth": 10, "last": -1}
# "the second", "the 3rd one", "the last task", "the first one on the list": a place in the list shown last.
_NTH = re.compile(r"(?:the\s+)?(?P<n>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|"
                  r"\d{1,2}(?:st|nd|rd|th))(?:\s+(?:one|task|todo|item))?(?:\s+(?:on|in)\s+(?:the|that|my)\s+list)?",
                  re.I)


@dataclass(frozen=True)
class Ref:
    """How a message names a task: the last one mentioned, an id, a place in the last list shown
    ("nth": 1 the first, -1 the last), or (part of) its title."""

    kind: str  # "last" | "id" | "nth" | "title"
    value: Any = None


@dataclass(frozen=True)
class Intent:
    kind: str  # add, find, more, complete, reopen, delete, bulk, change, show, tags, notifications, help, unknown
    ref: Ref | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def parse(message: str, now: datetime, *, week_start: int = 1, known_tags: Collection[str] = ()) -> Intent:
    """`week_start`: the ISO weekday the user's weeks start on (1 Monday, 7 Sunday), for "this week".
    `known_tags`: the user's tag names, so that "my travel tasks" means the tag travel when there is
    one (and the words "travel" otherwise)."""
    text = normalize(message)
    if not text:
        return Intent("unknown", note=wording.EMPTY_MESSAGE)
    from .planning import parse_planning  # imports this module

    known = frozenset(tag.casefold() for tag in known_tags)
    for parser in (_parse_help, parse_planning, _parse_timezone, _parse_snooze, _parse_more, _parse_tags_list,
                   _parse_notifications, partial(_parse_bulk, known_tags=known, week_start=week_start), parse_undo,
                   _parse_reopen, _parse_complete, _parse_tag_change, _parse_due_change, _parse_rename,
                   _parse_priority_change, _parse_delete, _parse_show,
                   partial(_parse_find, week_start=week_start, known_tags=known), _parse_add):
        intent = parser(text, now)
        if intent is not None:
            return intent
    return Intent("unknown", note=wording.quoted(text))


def _ref(text: str) -> Ref:
    text = unquote(normalize(text))
    text = re.sub(r"^(?:my|the)\s+(?=task\b)", "", text, flags=re.I)
    if re.fullmatch(LAST_TASK_WORDS, text, re.I):
        return Ref("last")
    nth = _NTH.fullmatch(text)
    if nth:
        word = nth.group("n").lower()
        return Ref("nth", ORDINAL_WORDS[word] if word in ORDINAL_WORDS else int(word[:-2]))
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


# "set my time zone to Europe/Berlin", "change my timezone to New York", "my time zone is UTC":
# whatever follows is meant as a zone, and an unknown one is answered as such.
_TIMEZONE_SET = re.compile(
    r"(?:please\s+)?(?:(?:set|change|switch|update|move)\s+(?:my\s+)?time\s*zone\s+(?:to|=)|"
    r"my\s+time\s*zone\s+is(?:\s+now)?|(?:use|switch\s+to)\s+the\s+time\s*zone)\s+(?P<zone>.+?)(?:\s+please)?", re.I)
# "I'm in Europe/Berlin now", "I am now in Tokyo": a zone only when the place is one (not "I'm in a meeting").
_TIMEZONE_HERE = re.compile(
    r"(?:i'?m|i\s+am)\s+(?:now\s+)?(?:in|at)\s+(?P<zone>.+?)(?:\s+(?:now|today|this\s+week|for\s+now))?", re.I)
_TIMEZONE_ASK = re.compile(r"(?:what(?:'s|\s+is)|which\s+is|show(?:\s+me)?)\s+my\s+(?:current\s+)?time\s*zone\??", re.I)


def _parse_timezone(text: str, now: datetime) -> Intent | None:
    if _TIMEZONE_ASK.fullmatch(text):
        return Intent("timezone")
    explicit = _TIMEZONE_SET.fullmatch(text)
    here = None if explicit else _TIMEZONE_HERE.fullmatch(text)
    match = explicit or here
    if match is None:
        return None
    written = unquote(match.group("zone").strip())
    zone = zones.zone_named(written)
    if zone is None and (explicit or zones.looks_like_zone(written)):
        return Intent("timezone", fields={"unknown": written[:zones.ZONE_PHRASE_MAX_LENGTH]})
    return None if zone is None else Intent("timezone", fields={"timezone": zone})


# "snooze", "snooze it 15 minutes", "snooze the reminder for an hour": the newest reminder, again later.
DEFAULT_SNOOZE_MINUTES = 10
_SNOOZE = re.compile(
    r"(?:please\s+)?snooze(?:\s+(?:it|that|this|(?:the|my)\s+(?:last\s+|latest\s+)?(?:reminder|notification)))?"
    rf"(?:\s+(?:for|by))?(?:\s+(?P<n>{phrases.NUM})\s*(?P<u>minutes?|mins?|m|hours?|hrs?|h|days?|d))?", re.I)


def _parse_snooze(text: str, now: datetime) -> Intent | None:
    match = _SNOOZE.fullmatch(text)
    if match is None:
        return None
    minutes = DEFAULT_SNOOZE_MINUTES
    if match.group("n"):
        minutes = phrases.number(match.group("n")) * phrases.UNIT_MINUTES[match.group("u").lower().rstrip("s")]
    return Intent("snooze", fields={"minutes": minutes})


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


# "remove all tags from it", "clear all reminders …" change one task; they are not bulk deletes.
_NOT_TASKS = (r"(?!(?:all|every|each)\s+(?:of\s+)?(?:the\s+|its\s+|my\s+)?"
              r"(?:tags?|labels?|due\s+dates?|deadlines?|reminders?)\b)")
_PLURAL_NOUN = r"(?:tasks|todos|to-dos|ones|items)"
_BULK = [
    ("delete", r"(?:please\s+)?(?:delete|remove|trash|erase|clear|drop|discard|get\s+rid\s+of)\s+"
               + _NOT_TASKS + r"(?P<what>(?:all|every|each)\b.*)"),
    ("complete", r"(?:please\s+)?(?:complete|finish|check\s+off|tick\s+off|close)\s+(?P<what>(?:all|every|each)\b.*)"),
    ("complete", r"(?:please\s+)?(?:mark|set|flag)\s+(?P<what>(?:all|every|each)\b.*?)\s+(?:as\s+)?"
                 r"(?:complete|completed|done|finished)"),
    # "delete my P4 shopping tasks", "complete the errands ones", "mark my travel todos as done": tasks
    # named by what they are, in the plural.
    ("delete", r"(?:please\s+)?(?:delete|remove|trash|erase|clear|drop|discard|get\s+rid\s+of)\s+"
               rf"(?P<what>(?:my|the|these|those)\s+(?:\S+\s+){{0,5}}?{_PLURAL_NOUN}\b.*)"),
    ("complete", r"(?:please\s+)?(?:complete|finish|check\s+off|tick\s+off|close)\s+"
                 rf"(?P<what>(?:my|the|these|those)\s+(?:\S+\s+){{0,5}}?{_PLURAL_NOUN}\b.*)"),
    ("complete", r"(?:please\s+)?(?:mark|set|flag)\s+"
                 rf"(?P<what>(?:my|the|these|those)\s+(?:\S+\s+){{0,5}}?{_PLURAL_NOUN}\b.*?)\s+(?:as\s+)?"
                 r"(?:complete|completed|done|finished)"),
]


def _parse_bulk(text: str, now: datetime, *, known_tags: frozenset[str] = frozenset(),
                week_start: int = 1) -> Intent | None:
    """"delete all completed tasks", "complete all overdue tasks tagged work", "delete my P4 shopping
    tasks": the tasks a search would list.  The assistant previews them and waits for a yes
    (chat_app.confirmations)."""
    # "complete everything tagged errands" is "complete all tasks tagged errands".
    text = re.sub(r"\beverything\b", "all tasks", text, count=1, flags=re.I)
    for action, pattern in _BULK:
        match = re.fullmatch(pattern, text, re.I)
        if match:
            # "all" keeps done tasks in unless the message says otherwise ("delete every task tagged x").
            what = re.sub(r"^(?:these|those)\s+", "the ", match.group("what"), flags=re.I)
            what = f"all {what}"
            found = (_parse_find(f"show {what}", now, known_tags=known_tags, week_start=week_start)
                     or _parse_find(f"show {what} tasks", now, known_tags=known_tags, week_start=week_start))
            if found is not None and found.kind == "unknown":
                return found
            filters = dict(found.fields) if found else {}
            if action == "complete":
                filters["completed"] = False
            filters.pop("limit", None)
            return Intent("bulk", fields={"action": action, "filters": filters})
    return None


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
        return Intent("unknown", note=wording.unclear_priority(match.group("p")))
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
        return Intent("unknown", note=wording.unclear_when(match.group("when")))
    fields = {"due_at": when.at} | ({} if when.has_time else {KEEP_TIME_FIELD: True})
    return Intent("change", ref=_ref(match.group("ref")), fields=fields)


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
    r"give\s+me|get|any|anything|do\s+i\s+have|are\s+there|is\s+there|view|see|how\s+many|recently|recent)\b",
    re.I)


# Words that say which tasks by state (or only join the sentence), not what they are about: never taken as
# tags or search text.
_LIST_WORDS = frozenset("""
    my the all of any every each these those your our me some other
    open completed complete done finished unfinished incomplete pending remaining outstanding active current
    overdue late recurring repeating recurrent non-recurring nonrecurring one-off oneoff one-time undated dated
    upcoming new old recent latest newest oldest next top first last today's tomorrow's week's
    important priority there is are do i have with for what which how many much show list me in on and or &
""".split())
_NOUN = r"(?:tasks?|todos?|to-dos?|ones|items|things|stuff)"
# "show my travel tasks", "any errands todos", "list all my open work items": the words before the noun.
_ADJECTIVES = re.compile(rf"(?:\b(?:my|the|all|any|show|list|display|see|view|get|are|have|of|these|those)\s+)"
                         rf"(?P<words>(?:[^\s\d][^\s]*\s+){{1,4}}?){_NOUN}\b", re.I)
# "show my errands" (no noun): only when the word is one of the user's tags.
_BARE_TAG_LIST = re.compile(r"(?:show|list|display|view|see|get)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:my|the)\s+"
                            r"(?P<word>#?[^\W\d][\w-]*)", re.I)


def _take_adjectives(rest: str, known_tags: frozenset[str]) -> tuple[list[str], str | None, str]:
    """Tags and search words named as adjectives before "tasks" ("my travel tasks"): a word that is one of
    the user's tags is a tag, any other word (not a state such as "open") is search text."""
    bare = _BARE_TAG_LIST.fullmatch(rest)
    if bare and bare.group("word").lstrip("#").casefold() in known_tags:
        word = bare.group("word").lstrip("#")
        return [word], None, rest[: bare.start("word")]
    match = _ADJECTIVES.search(rest)
    if match is None:
        return [], None, rest
    tags, words, kept = [], [], []
    for word in match.group("words").split():
        bare_word = word.strip(",'\"").lstrip("#")
        possessive = re.search(r"(?:'s|s')$", word) is not None  # "all users' tasks", "everyone's tasks"
        if not bare_word or bare_word.casefold() in _LIST_WORDS or (
                possessive and bare_word.casefold() not in known_tags):
            kept.append(word)  # "all", "open", … still say which tasks
        elif bare_word.casefold() in known_tags:
            tags.append(bare_word)
        else:
            words.append(bare_word)
    rest = rest[: match.start("words")] + "".join(f"{word} " for word in kept) + rest[match.end("words"):]
    return tags, (" ".join(words) or None), rest


def _parse_find(text: str, now: datetime, *, week_start: int = 1,
                known_tags: frozenset[str] = frozenset()) -> Intent | None:
    if not _FIND_START.search(text):
        return None
    rest = text
    args: dict[str, Any] = {}

    priorities, rest = phrases.take_all_priorities(rest)
    if priorities:
        args["priorities"] = priorities
    tags, rest = phrases.take_tags(rest)
    sort, rest = phrases.take_sort(rest)
    adjective_tags, adjective_words, rest = _take_adjectives(rest, known_tags)
    tags += [tag for tag in adjective_tags if tag.casefold() not in {t.casefold() for t in tags}]
    if tags:
        args["tags"] = tags
    if adjective_words:
        args["q"] = adjective_words

    match = re.search(r"\b(?:about|containing|mentioning|matching|regarding|related\s+to|that\s+mentions?|"
                      r"with\s+the\s+words?|called|named|titled|for)\s+(?P<q>.+)$", rest, re.I)
    if match is None:
        match = re.search(r"^(?:find|search(?:\s+for)?|look\s+(?:for|up))\s+(?:my\s+)?(?!(?:all\s+)?(?:my\s+)?"
                          r"(?:open\s+|completed\s+|done\s+)?(?:tasks?|todos?)\b)(?P<q>.+)$", rest, re.I)
    if match is not None:
        query = re.sub(r"^(?:the|a|an|my)\s+", "", unquote(match.group("q").strip()), flags=re.I)
        query = re.sub(r"\s+(?:tasks?|todos?)$", "", query, flags=re.I)
        if query:
            args["q"] = f"{args['q']} {query}" if "q" in args else query
        rest = rest[: match.start()]

    lowered = rest.lower()
    if re.search(r"\b(?:overdue|late|past\s+due)\b", lowered):
        args["overdue"] = True
    if re.search(r"\b(?:without|with\s+no|no)\s+(?:a\s+)?(?:due\s+date|deadline)|\bundated\b", lowered):
        args["has_due"] = False
    elif re.search(r"\bwith\s+(?:a\s+)?(?:due\s+date|deadline)\b", lowered):
        args["has_due"] = True

    if re.search(r"\b(?:non-?recurring|not\s+recurring|one-?off|one-?time|(?:that|which)\s+(?:don't|do\s+not|"
                 r"doesn't|does\s+not)\s+(?:repeat|recur))\b", lowered):
        args["recurring"] = False
    elif re.search(r"\b(?:recurring|repeating|recurrent|(?:that|which)\s+(?:repeats?|recurs?))\b", lowered):
        args["recurring"] = True
    if re.search(r"\b(?:without|with\s+no|no)\s+(?:an?\s+)?reminders?\b", lowered):
        args["has_reminder"] = False
    elif re.search(r"\b(?:with|has|have|having)\s+(?:an?\s+)?reminders?\b|\breminders?\s+set\b", lowered):
        args["has_reminder"] = True

    window = _due_window(lowered, now, week_start=week_start)
    if window:
        args.update(window)

    if re.search(r"\b(?:not\s+done|not\s+completed|incomplete|unfinished|open|pending|remaining|outstanding|"
                 r"to\s*do)\b", lowered):
        args["completed"] = False
    elif re.search(r"\b(?:completed|done|finished)\b", lowered):
        args["completed"] = True
    elif re.search(r"\ball\b", lowered) or ("q" in args and not adjective_words) or sort == "-updated_at":
        # A search, or what changed lately: done tasks too (completing one is a change).
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
            priorities or tags or "recurring" in args or "has_reminder" in args or sort == "-updated_at"):
        return None
    unread = _unread_due(lowered, args)
    dangling = phrases.DANGLING_TAG_WORDS.search(rest)
    if dangling:  # "delete every task tagged": not every task
        unread = wording.unclear_tags(dangling.group(0).strip())
    if unread:
        return Intent("unknown", note=unread)
    return Intent("find", fields=args)


def _unread_due(lowered: str, args: dict[str, Any]) -> str:
    """A "due …" the list did not read as a date ("show my tasks due someday"): said, not dropped."""
    if any(key in args for key in ("due_after", "due_before", "overdue", "has_due")):
        return ""
    match = re.search(r"\bdue\s+(?!dates?\b|soon\b)(?:on\s+|by\s+|before\s+|after\s+)?(?P<when>.+?)"
                      r"(?=$|\s+(?:and|sorted|ordered|tagged|with|by)\b)", lowered)
    return wording.unclear_when(match.group("when")) if match else ""


def _due_window(lowered: str, now: datetime, *, week_start: int = 1) -> dict[str, Any] | None:
    start_of_today = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    start_of_week = start_of_today - timedelta(days=(now.isoweekday() - week_start) % 7)
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
        "this week": (start_of_week, start_of_week + timedelta(days=7)),
        "next week": (start_of_week + timedelta(days=7), start_of_week + timedelta(days=14)),
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
    # "due friday", "due on dec 3": that whole day.
    day = re.search(r"\bdue\s+(?:on\s+)?(?P<when>.+?)(?=$|\s+(?:and|sorted|ordered|tagged|with)\b)", lowered)
    when = phrases.parse_when(day.group("when"), now) if day else None
    if when is not None:
        start = datetime.combine(when.at.date(), time.min, tzinfo=now.tzinfo)
        return {"due_after": start, "due_before": datetime.combine(when.at.date() + timedelta(days=1), time.min,
                                                                   tzinfo=now.tzinfo)}
    return None


_ADD_START = re.compile(
    r"^(?:please\s+)?(?:can\s+you\s+|could\s+you\s+)?(?P<verb>add|create|make(?!\s+(?:it|that|this|them)\b)|new|"
    r"schedule|put|plan|"
    r"remind\s+me\s+to|remember\s+to|i\s+need\s+to|i\s+have\s+to|i\s+must|don't\s+forget\s+to|todo:?|to-do:?)\b\s*",
    re.I)
TITLE_MARK = "\u2063title\u2063"
# A title in quotes; an apostrophe inside a word ("'Don't forget'") does not end it.
QUOTED_TITLE = r"(?:'(?P<s>(?:[^']|(?<=\w)'(?=\w))+)'|\"(?P<d>[^\"]+)\")"


def _parse_add(text: str, now: datetime) -> Intent | None:
    start = _ADD_START.search(text)
    if not start:
        return None
    verb = start.group("verb").lower()
    named = re.search(rf"\b(?:called|named|titled)\s+{QUOTED_TITLE}", text, re.I) or re.match(
        _ADD_START.pattern + r"(?:(?:a|an|the|new|another)\s+)*(?:(?:task|todo|to-do|item)\s*:?\s*)?" + QUOTED_TITLE,
        text, re.I)
    reading = _read_task(text, now, named=named, title_of=_title_after_verb, no_title=wording.UNCLEAR_TITLE)
    if reading.problem:
        return Intent("unknown", note=reading.problem)
    fields = dict(reading.fields)
    if "reminder_minutes_before" not in fields and verb.startswith("remind") and "due_at" in fields:
        fields["reminder_minutes_before"] = 0
    return Intent("add", fields=fields)


def _title_after_verb(rest: str) -> str:
    """What is left of "add a task called …" once the verb and the filler words are gone."""
    rest = _ADD_START.sub("", rest, count=1)
    # "new" only before "task" ("add new task …"): "add new year call" keeps its first word.
    rest = re.sub(r"^(?:(?:a|an|the|another|new(?=\s+(?:task|todo|to-do|item|reminder)s?\b))\s+)+", "", rest,
                  flags=re.I)
    rest = re.sub(r"^(?:task|todo|to-do|item|reminder)s?\b\s*[:-]?\s*", "", rest, flags=re.I)
    rest = re.sub(r"^(?:called|named|titled|to|for|about)\s+", "", rest, flags=re.I)
    rest = re.sub(r"\s+(?:to|on|in)\s+(?:my\s+)?(?:list|todo\s+list|to-do\s+list|todos|tasks)$", "", rest,
                  flags=re.I)
    return _trim_title(rest)


_DANGLING = re.compile(r"(?:\s+(?:and|with|that|which|it|due|,))+$", re.I)


def _trim_title(rest: str) -> str:
    """Without the joining words a cut phrase left at the end ("Buy milk and"), spaces and dashes."""
    return phrases.strip_ends(phrases.splice(rest, [m.span() for m in _DANGLING.finditer(rest)], ""), " ,:-")


# --------------------------------------------------------------------------- one line describing a task


@dataclass(frozen=True)
class Part:
    """One recognised piece of a task description: what it is, what it means, where it was typed.
    `start`/`end` index the text as given (end exclusive), so a client can highlight `text`."""

    kind: str  # title, priority, tag, due, recurrence, reminder
    value: Any
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class TaskReading:
    """What a task description says: the task's fields (as task_create takes them), the parts
    recognised in it in the order they were typed, and `problem` when no task can be made of it."""

    fields: dict[str, Any]
    parts: list[Part]
    problem: str = ""


EMPTY_DESCRIPTION = "an empty description: type the task, e.g. Pay rent every month #home p2"
NO_TITLE_LEFT = ("no title is left once the date, tags, priority, recurrence and reminder are read; put the "
                 "title in quotes, e.g. 'Weekly review' every Friday")


def read_task_description(description: str, now: datetime) -> TaskReading:
    """Quick add: one line such as "Pay rent every month #home p2 remind me 1 day before" read with
    the assistant's grammar (the same phrases, in the same order, as "add …" in the chat), with the
    span of every recognised part in `description`.  A title in quotes at the start is taken as is.
    Pure: `now` is in the user's zone; nothing is written."""
    text = normalize(phrases.Traced(description or ""))
    if not text:
        return TaskReading(fields={}, parts=[], problem=EMPTY_DESCRIPTION)
    named = re.match(QUOTED_TITLE, text)
    return _read_task(text, now, named=named, title_of=_trim_title, no_title=NO_TITLE_LEFT)


def _read_task(text: str, now: datetime, *, named: re.Match | None, title_of, no_title: str) -> TaskReading:
    """Peel recurrence, reminder, tags, priority and date off `text` (in that order: each phrase
    is taken before the ones it could be mistaken for); what is left, through `title_of`, is the title."""
    parts: list[Part] = []
    title: str | None = None
    if named:
        group = "s" if named.group("s") else "d"
        title = named.group(group).strip()
        parts += _parts_of(text, "title", title, phrases.typed_spans(
            getattr(text, "origin", ())[named.start(group):named.end(group)], getattr(text, "source", "")))
        text = phrases.splice(text, [(named.start(group) - 1, named.end(group) + 1)], TITLE_MARK)

    def peel(kind: str, take) -> Any:
        nonlocal text
        value, rest = take(text)
        if value is not None and value != []:  # a reminder of 0 minutes is one
            parts.extend(_parts_of(text, kind, value, phrases.removed_spans(text, rest)))
        text = rest
        return value

    # "every! 3 days", "… from completion": the rule counts from completion (only said with a rule).
    from_completion, unbanged = recurrence_phrases.take_from_completion(text)
    if from_completion and phrases.take_recurrence(unbanged)[0] is not None:
        text = unbanged
    recurrence = peel("recurrence", phrases.take_recurrence)
    reminder = peel("reminder", lambda rest: phrases.take_reminder(rest, bare_means_zero=False))
    # "with a reminder" says no lead time: the user's default one (their profile), filled in by the caller.
    bare_reminder = False
    if reminder is None:
        reminder = peel("reminder", phrases.take_reminder)
        bare_reminder = reminder is not None
    tags = peel("tag", phrases.take_tags)
    priority = peel("priority", phrases.take_priority)
    when = peel("due", lambda rest: phrases.take_when(rest, now))

    if title is not None:
        left_over = _unread_next_to_title(title_of(text))
        if left_over:
            return TaskReading(fields={}, parts=_in_typed_order(parts), problem=wording.unread_words(left_over))
    if title is None:
        unread = _unread_in_title(text)
        rest = title_of(text)
        if unread:
            return TaskReading(fields={}, parts=_in_typed_order(parts), problem=unread)
        title = unquote(rest)
        if title and title == title.lower():
            title = title[0].upper() + title[1:]
        if title and TITLE_MARK not in title:
            parts += _parts_of(rest, "title", title, phrases.typed_spans(getattr(rest, "origin", ()),
                                                                         getattr(rest, "source", "")))
    if not title or TITLE_MARK in title:
        return TaskReading(fields={}, parts=_in_typed_order(parts), problem=no_title)

    fields: dict[str, Any] = {"title": title}
    if priority:
        fields["priority"] = priority
    if tags:
        fields["tags"] = tags
    if recurrence:
        fields["recurrence"] = recurrence
        if from_completion:
            fields["recurrence_from_completion"] = True
    due: When | None = when
    positioned = recurrence and recurrence_phrases.first_occurrence(recurrence, at=when and when.at, now=now)
    if positioned:  # "every 3rd Friday", "every last day of the month": due on the first such day
        due = When(at=positioned, has_time=bool(when and when.has_time))
    elif due is None and recurrence:
        first = phrases.first_weekday_on_or_after(now, recurrence)
        if first is None and "BYMONTHDAY" in recurrence:  # "every month on the 1st": from the next 1st at nine
            start = datetime.combine(now.date(), phrases.DEFAULT_DUE_TIME, tzinfo=now.tzinfo)
            start = start if start > now else start + timedelta(days=1)
            first = phrases.first_fitting_day(start, recurrence) or start
        if first is not None:
            due = When(at=first, has_time=False)
    elif due is not None and recurrence:  # "every Sunday at 6pm" read on a Friday: due on Sunday
        fitting = phrases.first_fitting_day(due.at, recurrence)
        if fitting is not None:
            due = When(at=fitting, has_time=due.has_time)
    if due is not None:
        fields["due_at"] = due.at
    if reminder is not None:
        fields["reminder_minutes_before"] = reminder
    if bare_reminder:
        fields[DEFAULT_REMINDER_FIELD] = True
    return TaskReading(fields=fields, parts=_in_typed_order(parts))


# Words that may stand next to a quoted title without meaning anything ("please add a task called 'X' to my list").
_FILLER = re.compile(r"(?:\s|,|;|:|-|!|\b(?:please|thanks|thank\s+you|and|also|a|an|the|new|task|todo|to-do|item|"
                     r"called|named|titled|with|to|my|list|for\s+me|ok|okay)\b)*", re.I)


def _unread_next_to_title(rest: str) -> str:
    """What is left beside a quoted title once every phrase is read: words the grammar did not read
    ("add 'Buy milk' on zorkday" → "on zorkday").  Empty when only filler is left."""
    rest = str(rest).replace(TITLE_MARK, " ")
    rest = re.sub(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]", " ", rest)  # emoji say nothing to read
    words = " ".join(piece for piece in re.split(r"\s+", rest) if piece)
    return "" if _FILLER.fullmatch(words) else words.strip(" ,;:-")


# Words the user clearly meant as a date that no date was read from ("due someday").
_UNREAD_DUE = re.compile(r"\bdue\s+(?!diligence\b|to\b|process\b)(?:on\s+|by\s+|at\s+|in\s+)?(?P<when>\S.*)$", re.I)
_DAY_WORDS = phrases.WEEKDAYS + ["today", "tomorrow", "tonight", "weekday", "weekend", "morning", "evening"]
_DAY_LEAD = re.compile(r"\b(?:every|each|on|next|this|by|until|till)\s+(?P<word>[a-z]{4,})\b", re.I)


def _unread_in_title(rest: str) -> str:
    """A date, tag or recurrence the user meant but that was not read, left in an unquoted title: said
    instead of being kept as a title or dropped ("Buy milk tagged" · "due someday" · "every thrusday")."""
    dangling = phrases.DANGLING_TAG_WORDS.search(rest)
    if dangling:
        return wording.unclear_tags(dangling.group(0).strip())
    due = _UNREAD_DUE.search(rest)
    if due:
        return wording.unclear_when(due.group("when"))
    for lead in _DAY_LEAD.finditer(rest):
        word = lead.group("word").lower()
        if word in _DAY_WORDS:
            continue
        close = difflib.get_close_matches(word, _DAY_WORDS, n=1, cutoff=0.75)
        if close:
            return wording.misspelled_day(lead.group(0), close[0])
    return ""


def _parts_of(text: str, kind: str, value: Any, spans: list[tuple[int, int]]) -> list[Part]:
    """Parts for `value` found at `spans` of the typed text (none for untraced text: the chat): one
    per stretch (a phrase split by one read earlier is two), and one per tag, where it is named."""
    source = getattr(text, "source", None)
    if source is None or not spans:
        return []
    if kind == "due":
        value = value.at
    if kind != "tag":
        return [Part(kind, value, start, end, source[start:end]) for start, end in spans]
    found = []
    for tag in value:
        for start, end in spans:
            match = re.search(rf"#?{re.escape(tag)}", source[start:end], re.I)
            if match:
                found.append(Part("tag", tag, start + match.start(), start + match.end(),
                                  source[start + match.start():start + match.end()]))
                break
    return found


def _in_typed_order(parts: list[Part]) -> list[Part]:
    return sorted(parts, key=lambda part: (part.start, part.end))
