"""The recurrence phrases beyond "every Monday" / "weekly": nth weekdays ("every 3rd Friday"),
month-end ("every last day of the month"), several days of the month ("1st and 15th"), weeks with
days ("every 2 weeks on Tuesday"), quarters, and repeating from completion ("every!", "… from
completion").  Pure, like phrases.py, which tries these first (phrases.take_recurrence); what a rule
means and how it reads back is tasks_app.recurrence's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tasks_app import recurrence

from .phrases import DEFAULT_DUE_TIME, NUM, WEEKDAY, _cut, number, splice, weekday_index

_VERB = r"(?:,?\s*(?:that|which)\s+)?(?:(?:recurs|repeats|recurring|repeating|recur|repeat|happens|occurs)\s+)?"
_NTH = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5,
        "5th": 5, "last": -1, "second to last": -2, "second-to-last": -2}
_NTH_WORD = r"(?P<nth>first|1st|second(?:[\s-]to[\s-]last)?|2nd|third|3rd|fourth|4th|fifth|5th|last)"
_OF_MONTH = r"(?:\s+of\s+(?:the|each|every)\s+month)?"
_MONTHDAY = r"\d{1,2}(?:st|nd|rd|th)"
_DAY_LIST = rf"(?:{WEEKDAY}s?)(?:\s*(?:,\s*and|,|and|&)\s*{WEEKDAY}s?)*"

_PATTERNS: list[tuple[re.Pattern, str]] = [
    # "every last day of the month", "on the last day of every month", "monthly on the last day", "every month-end"
    (re.compile(_VERB + r"(?:(?:every|each|on\s+the)\s+last\s+day\s+of\s+(?:the|each|every)\s+month|"
                        r"(?:(?:every|each)\s+month|monthly)\s+on\s+the\s+last\s+day|(?:every|each)\s+month[\s-]end|"
                        r"at\s+the\s+end\s+of\s+(?:every|each)\s+month)\b", re.I), "month_end"),
    # "every 3rd Friday", "on the last Friday of every month", "every month on the first Monday"
    (re.compile(_VERB + rf"(?:(?:every|each)\s+month\s+on\s+the|monthly\s+on\s+the|every|each|on\s+the)\s+"
                        rf"{_NTH_WORD}\s+(?P<day>{WEEKDAY}){_OF_MONTH}\b", re.I), "nth_weekday"),
    # "1st and 15th", "on the 1st and 15th of every month", "every month on the 1st and 15th"
    (re.compile(_VERB + rf"(?:(?:(?:every|each)\s+month|monthly)\s+on\s+the\s+|every\s+|each\s+|on\s+the\s+|\b)"
                        rf"(?P<days>{_MONTHDAY}(?:\s*(?:,\s*and|,|and|&)\s*(?:the\s+)?{_MONTHDAY})+){_OF_MONTH}\b",
                re.I), "monthdays"),
    # "every 2 weeks on Tuesday", "every other week on Monday and Thursday", "every other Tuesday"
    (re.compile(_VERB + rf"every\s+(?P<n>{NUM}|other|second)\s+weeks?\s+on\s+(?P<days>{_DAY_LIST})\b", re.I),
     "weeks_on"),
    (re.compile(_VERB + rf"every\s+(?:other|second)\s+(?P<days>{_DAY_LIST})\b", re.I), "other_days"),
    (re.compile(_VERB + r"(?:every|each|on)\s+(?:work\s?days?|business\s+days?)\b", re.I), "weekdays"),
    (re.compile(_VERB + r"(?:every\s+quarter|quarterly)\b", re.I), "quarterly"),
]


def _days(text: str) -> set[int]:
    return {weekday_index(day) for day in re.findall(WEEKDAY + r"s?", text, re.I)}


def take(text: str) -> tuple[str | None, str]:
    """An RRULE body for one of the phrases above, and the text without it; (None, text) if none."""
    for pattern, kind in _PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        if kind == "month_end":
            rule = "FREQ=MONTHLY;BYMONTHDAY=-1"
        elif kind == "nth_weekday":
            nth = _NTH[re.sub(r"\s+", " ", match.group("nth").lower())]
            rule = f"FREQ=MONTHLY;BYDAY={nth}{recurrence.DAYS[weekday_index(match.group('day'))]}"
        elif kind == "monthdays":
            days = sorted({int(day) for day in re.findall(r"\d{1,2}", match.group("days"))})
            if not all(1 <= day <= 31 for day in days):
                continue
            rule = "FREQ=MONTHLY;BYMONTHDAY=" + ",".join(map(str, days))
        elif kind == "weeks_on":
            written = match.group("n").lower()
            interval = 2 if written in ("other", "second") else number(written)
            rule = recurrence.compose("WEEKLY", interval=interval, weekdays=_days(match.group("days")))
        elif kind == "other_days":
            rule = recurrence.compose("WEEKLY", interval=2, weekdays=_days(match.group("days")))
        elif kind == "weekdays":
            rule = recurrence.SHORTHANDS["weekdays"]
        else:
            rule = "FREQ=MONTHLY;INTERVAL=3"
        return rule, _cut(text, match)
    return None, text


_BANG = re.compile(r"\b(?:every|each)(?P<bang>!)", re.I)
_FROM_COMPLETION = re.compile(
    r",?\s*\b(?:(?:counted|counting|repeating|starting)\s+)?(?:from|after)\s+(?:(?:the\s+)?(?:completion|"
    r"last\s+completion|completion\s+date|day\s+(?:i|it\s+is|it's)\s+(?:finish|complete|do)(?:ed)?\s+it)|"
    r"(?:i|we)\s+(?:finish|complete|do)\s+it|(?:it\s+is|it's)\s+(?:done|completed|finished))\b", re.I)


def take_from_completion(text: str) -> tuple[bool, str]:
    """Whether the rule counts from completion — Todoist's "every!" ("water plants every! 3 days"),
    or "… from completion" / "… after I finish it" — and the text with that said (the "!" dropped,
    so that the rule itself still reads as "every 3 days")."""
    bang = _BANG.search(text)
    if bang:
        return True, splice(text, [bang.span("bang")], "")
    words = _FROM_COMPLETION.search(text)
    if words:
        return True, _cut(text, words)
    return False, text


def _names_positions(rule: str) -> bool:
    parts = recurrence.rule_parts(rule)
    positional = any(len(day) > 2 for day in parts.get("BYDAY", "").split(",") if day)
    return positional or "-" in parts.get("BYMONTHDAY", "")


def first_occurrence(rule: str, *, at: datetime | None, now: datetime) -> datetime | None:
    """For rules that name positions ("3FR", "last day" = BYMONTHDAY=-1): the first occurrence on or
    after `at` (its time of day kept), or without `at` the first after now at the default time — so a
    task "every 3rd Friday" read on a Wednesday is due on the 3rd Friday, not today.  None for other
    rules (phrases' own fitting applies)."""
    if not _names_positions(rule):
        return None
    if at is not None:
        start, after = at, at - timedelta(seconds=1)
    else:
        start = datetime.combine(now.date(), DEFAULT_DUE_TIME, tzinfo=now.tzinfo)
        after = max(now, start - timedelta(seconds=1))
    try:
        found = recurrence.next_after(rule, anchor=start, after=after, zone=now.tzinfo)
    except recurrence.InvalidRecurrence:
        return None
    return None if found is None else found.astimezone(now.tzinfo)
