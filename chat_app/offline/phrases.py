"""Pieces of everyday English the offline assistant understands, as pure functions.

Each `take_*` function finds one kind of phrase in a text and returns what it
means together with the text without it, so a sentence can be peeled piece by
piece until only the task's title is left.  Nothing here touches the database;
"now" is always passed in, in the user's time zone.  What a recurrence rule is
and how it reads is tasks_app.recurrence's; here only which words name one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache

from tasks_app import recurrence

DEFAULT_DUE_TIME = time(9, 0)

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty-five": 45, "forty five": 45, "sixty": 60, "ninety": 90,
}
NUM = r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|" \
      r"forty[- ]five|sixty|ninety)"
UNIT_MINUTES = {"minute": 1, "min": 1, "m": 1, "hour": 60, "hr": 60, "h": 60, "day": 1440, "d": 1440, "week": 10080}
UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|m|h|d)"

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAY_ABBREVIATIONS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4,
                         "sat": 5, "sun": 6}
WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)"
MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
        r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"

PRIORITY_WORDS = {
    "urgent": "P1", "critical": "P1", "top priority": "P1", "highest priority": "P1", "asap": "P1",
    "high priority": "P2", "high-priority": "P2", "high": "P2", "important": "P2",
    "medium priority": "P3", "normal priority": "P3", "medium": "P3", "normal": "P3",
    "low priority": "P4", "low-priority": "P4", "low": "P4", "lowest priority": "P4",
}

SORT_WORDS = {
    "due date": "due_at", "due": "due_at", "deadline": "due_at", "date": "due_at",
    "priority": "priority", "importance": "priority",
    "created": "created_at", "creation date": "created_at", "date created": "created_at",
    "creation": "created_at", "age": "created_at",
    "newest": "-created_at", "latest": "-created_at", "oldest": "created_at",
    "title": "title", "name": "title", "alphabetically": "title", "alphabetical order": "title",
    "relevance": "relevance",
}

# Words that end a list of tags ("tagged work and meetings that recurs weekly").
_TAG_STOP = (r"(?!(?:and|or|with|that|which|who|it|them|due|every|each|recurs?|repeats?|recurring|repeating|"
             r"remind(?:er)?|"
             r"priority|by|on|at|in|for|from|sorted|sort|order(?:ed)?|p[1-4]|urgent|high|low|tomorrow|today|tonight|"
             r"next|this|weekly|daily|monthly|yearly|starting|before|after|about)\b)")
# A tag as written after "tagged": quoted, a hashtag (any word, "#today" too), or a plain word that
# does not start the next phrase.
TAG_WORD = rf"(?:'[^']+'|\"[^\"]+\"|#[^\W\d][\w-]*|{_TAG_STOP}[^\W\d][\w-]*)"
# Between tags: a comma, "and", "&", or only a space before a hashtag ("tagged #a #b").
TAG_SEPARATOR = r"(?:\s*(?:,\s*and\b|,|\band\b|&)\s*|\s+(?=#))"
TAG_LIST = rf"{TAG_WORD}(?:{TAG_SEPARATOR}{TAG_WORD})*"


_STRAIGHT = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalize(text: str) -> str:
    """Straight quotes, single spaces, no trailing sentence punctuation (a `Traced` text stays traced)."""
    text = text or ""
    straight = text.translate(_STRAIGHT)  # one character for one: positions do not move
    text = Traced(straight, text.origin, text.source) if isinstance(text, Traced) else straight
    text = strip_ends(_squeeze(text), None)
    return strip_ends(splice(text, [m.span() for m in re.finditer(r"[\s.!?]+$", text)], ""), None)


def number(word: str) -> int:
    word = word.lower().strip()
    return int(word) if word.isdigit() else NUMBER_WORDS[word.replace("-", " ") if word not in NUMBER_WORDS else word]


def _cut(text: str, match: re.Match) -> str:
    return strip_ends(_squeeze(splice(text, [match.span()], " ")), " ,")


# --------------------------------------------------------------------------- where a phrase came from


class Traced(str):
    """A text being peeled that remembers where each of its characters stood in what was typed.

    The take_* functions cut phrases out of a Traced exactly as out of a plain str (every change
    goes through `splice` and `strip_ends`), and hand back a Traced; `origin[i]` is the index in
    `source` of character i (None for a space a cut put in).  So a caller peeling a sentence can
    say which characters of the original each recognised phrase came from (quick add highlights
    them) without a second grammar.
    """

    origin: tuple[int | None, ...]
    source: str

    def __new__(cls, text: str, origin: tuple[int | None, ...] | None = None, source: str | None = None):
        traced = super().__new__(cls, text)
        traced.origin = tuple(range(len(text))) if origin is None else tuple(origin)
        traced.source = text if source is None else source
        return traced


def splice(text: str, spans: list[tuple[int, int]], replacement: str, *, keep_origin: bool = False) -> str:
    """`text` with each span (in order, not overlapping) replaced by `replacement`.  `keep_origin`: the
    replacement stands for the span's first character (one space for a run of spaces)."""
    pieces: list[str] = []
    at = 0
    for start, end in spans:
        pieces += [text[at:start], replacement]
        at = end
    pieces.append(text[at:])
    joined = "".join(pieces)
    if not isinstance(text, Traced):
        return joined
    origin: list[int | None] = []
    at = 0
    for start, end in spans:
        stands_for = text.origin[start] if keep_origin and start < end else None
        origin += [*text.origin[at:start], *([stands_for] * len(replacement))]
        at = end
    origin += text.origin[at:]
    return Traced(joined, origin, text.source)


def _squeeze(text: str) -> str:
    """Every run of white space as one space."""
    return splice(text, [m.span() for m in re.finditer(r"\s+", text)], " ", keep_origin=True)


def strip_ends(text: str, chars: str | None) -> str:
    """`text.strip(chars)`, keeping a Traced text traced."""
    start, end = len(text) - len(text.lstrip(chars)), len(text.rstrip(chars))
    end = max(start, end)  # all stripped: lstrip took everything
    if not isinstance(text, Traced):
        return text[start:end]
    return Traced(text[start:end], text.origin[start:end], text.source)


def _filler(char: str) -> bool:
    return char.isspace() or char == ","


def typed_spans(indices, source: str) -> list[tuple[int, int]]:
    """The stretches of `source` the character `indices` make up, without spaces and commas at their
    ends: a stretch ends where a typed character that is not among them lies between."""
    spans: list[tuple[int, int]] = []
    for index in sorted(index for index in set(indices) if index is not None and not _filler(source[index])):
        if spans and all(_filler(source[between]) for between in range(spans[-1][1], index)):
            spans[-1] = (spans[-1][0], index + 1)
        else:
            spans.append((index, index + 1))
    return spans


def removed_spans(before: str, after: str) -> list[tuple[int, int]]:
    """The stretches of the original text that peeling `before` into `after` took out, as (start, end)
    indices into `before.source`; [] for untraced text.  A phrase that another one, taken out
    earlier, had split ("tomorrow #home 5pm") is two stretches."""
    if not isinstance(before, Traced) or not isinstance(after, Traced):
        return []
    return typed_spans(set(before.origin) - set(after.origin), before.source)


# --------------------------------------------------------------------------- quoted strings


QUOTED = re.compile(r"(?<!\w)'([^']+?)'(?!\w)|\"([^\"]+?)\"")


def quoted_strings(text: str) -> list[str]:
    return [single or double for single, double in QUOTED.findall(text)]


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


# --------------------------------------------------------------------------- priority


_PRIORITY_PATTERNS = [
    (re.compile(r"\b(?:with\s+)?(?:a\s+)?(?:priority\s*(?:of\s+)?)?(p[1-4])\b(?:\s+priority)?", re.I), None),
    (re.compile(r"\b(?:with\s+)?priority\s+([1-4])\b", re.I), None),
    (re.compile(r"\b(urgent|critical|top[\s-]priority|highest[\s-]priority|asap)\b", re.I), "P1"),
    (re.compile(r"\b(high[\s-]priority)\b", re.I), "P2"),
    (re.compile(r"\b((?:medium|normal)[\s-]priority)\b", re.I), "P3"),
    (re.compile(r"\b(low(?:est)?[\s-]priority)\b", re.I), "P4"),
    (re.compile(r"\b(low)\b(?=\s+(?:task|todo|to-do|item)s?\b)", re.I), "P4"),
]


def take_priority(text: str) -> tuple[str | None, str]:
    for pattern, fixed in _PRIORITY_PATTERNS:
        match = pattern.search(text)
        if match:
            value = fixed or match.group(1).upper()
            return (value if value.startswith("P") else f"P{value}"), _cut(text, match)
    return None, text


def take_all_priorities(text: str) -> tuple[list[str], str]:
    found: list[str] = []
    while True:
        value, text = take_priority(text)
        if value is None:
            return found, text
        if value not in found:
            found.append(value)


def priority_from_words(words: str) -> str | None:
    """ "P1", "priority 2", "urgent", "low priority", … → P1–P4."""
    words = unquote(normalize(words)).lower()
    words = re.sub(r"^(?:to|as|a|an)\s+", "", words)
    match = re.fullmatch(r"(?:priority\s+)?p?([1-4])(?:\s+priority)?", words)
    if match:
        return f"P{match.group(1)}"
    return PRIORITY_WORDS.get(words) or PRIORITY_WORDS.get(words.removesuffix(" priority"))


# --------------------------------------------------------------------------- tags


_HASHTAG = re.compile(r"(?<![\w&#])#([^\W\d][\w-]*)")
_TAG_CLAUSES = [
    # "tagged work and home", "labelled #a #b", "tagged as 'deep work'", "tagged with the tags a, b"
    re.compile(rf"\b(?:tagged|labell?ed)\s+(?:as\s+|with\s+)?(?:the\s+)?(?:(?:tags?|labels?)\s+)?"
               rf"(?P<list>{TAG_LIST})", re.I),
    # "and tag it work", "tag it with errands", "label this as home", "and label them #a #b"
    re.compile(rf"(?:,\s*|\band\s+|\bthen\s+)?\b(?:tag|label)\s+(?:it|this|that|them)\s+(?:as\s+|with\s+)?"
               rf"(?:the\s+)?(?:(?:tags?|labels?)\s+)?(?P<list>{TAG_LIST})", re.I),
    # "with the tag x", "with tags a, b", "with labels #a #b"
    re.compile(rf"\bwith\s+(?:the\s+)?(?:tags?|labels?)\s+(?P<list>{TAG_LIST})", re.I),
    # "tags: a, b", "label: x"
    re.compile(rf"\b(?:tags?|labels?):\s*(?P<list>{TAG_LIST})", re.I),
    # ", tag work", " - label home": a bare verb only after a comma or a dash, where it cannot be
    # part of the title ("add label jars" keeps its title).
    re.compile(rf"(?:,|\s-)\s*(?:tag|label)\s+(?:as\s+|with\s+)?(?P<list>{TAG_LIST})", re.I),
    # "buy milk label errands tomorrow": a bare verb elsewhere only when the tags end the sentence or
    # another phrase follows them.
    re.compile(rf"(?<=\s)(?:tag|label)\s+(?P<list>{TAG_LIST})(?=\s*$|\s*,|\s+(?:and|due|every|each|on|at|by|"
               rf"tomorrow|today|tonight|next|this|in|p[1-4]|with|remind|priority|urgent)\b)", re.I),
]
# Tag words left behind with no tag after them ("… tagged", "and tag it"): not understood, not dropped.
DANGLING_TAG_WORDS = re.compile(r"(?:\b(?:tagged|labell?ed)|\b(?:tag|label)\s+(?:it|this|that|them))"
                                r"(?:\s+(?:as|with))?(?:\s+(?:the\s+)?(?:tags?|labels?))?\s*$", re.I)


def split_tag_list(text: str) -> list[str]:
    parts = re.split(TAG_SEPARATOR, text.strip())
    return [unquote(part).lstrip("#").strip() for part in parts if unquote(part).strip().lstrip("#")]


def take_tags(text: str) -> tuple[list[str], str]:
    tags: list[str] = []
    for pattern in _TAG_CLAUSES:
        while True:
            match = pattern.search(text)
            if not match:
                break
            tags += split_tag_list(match.group("list"))
            text = _cut(text, match)
    for match in list(_HASHTAG.finditer(text)):
        tags.append(match.group(1))
    text = strip_ends(_squeeze(splice(text, [m.span() for m in _HASHTAG.finditer(text)], " ")), " ,")
    unique: list[str] = []
    for tag in tags:
        if tag.casefold() not in {t.casefold() for t in unique}:
            unique.append(tag)
    return unique, text


# --------------------------------------------------------------------------- reminders


_REMINDER_PATTERNS = [
    re.compile(r"(?:,?\s*(?:and|with)\s+)?(?:an?\s+)?half[\s-](?:an?[\s-])?hour[\s-]+reminder\b(?:\s+before)?", re.I),
    re.compile(r"(?:,?\s*(?:and\s+)?(?:remind\s+me|notify\s+me|alert\s+me))\s+half\s+an\s+hour\s+"
               r"(?:before|ahead|early|earlier|in\s+advance|beforehand|prior)", re.I),
    re.compile(rf"(?:,?\s*(?:and|with)\s+)?(?:an?\s+)?(?P<n>{NUM})[\s-]*(?P<u>{UNIT})[\s-]+(?:advance\s+)?"
               r"(?:reminder|alert|notification)\b(?:\s+(?:before|ahead))?", re.I),
    re.compile(rf"(?:,?\s*(?:and|with)\s+)?(?:remind\s+me|notify\s+me|alert\s+me|(?:an?\s+)?reminder|"
               rf"(?:an?\s+)?alert)\s+(?P<n>{NUM})\s*[\s-]?(?P<u>{UNIT})\s+(?:before|ahead|early|earlier|"
               r"in\s+advance|beforehand|prior)(?:\s+(?:it'?s\s+)?due)?", re.I),
]
_BARE_REMINDER = re.compile(r"(?:,?\s*(?:and|with)\s+)?(?:an?\s+)?reminder\b", re.I)


def take_reminder(text: str, *, bare_means_zero: bool = True) -> tuple[int | None, str]:
    """Minutes before the due time, e.g. "with a 30-minute reminder" → 30."""
    for pattern in _REMINDER_PATTERNS:
        match = pattern.search(text)
        if match:
            if "n" not in pattern.groupindex:
                return 30, _cut(text, match)
            unit = match.group("u").lower().rstrip("s")
            unit = {"minute": "minute", "min": "min", "hour": "hour", "hr": "hr", "day": "day", "week": "week"}.get(
                unit, unit)
            return number(match.group("n")) * UNIT_MINUTES[unit], _cut(text, match)
    if bare_means_zero:
        match = _BARE_REMINDER.search(text)
        if match:
            return 0, _cut(text, match)
    return None, text


# --------------------------------------------------------------------------- recurrence


_RECUR_VERB = r"(?:,?\s*(?:that|which)\s+)?(?:(?:recurs|repeats|recurring|repeating|recur|repeat|happens|occurs)\s+)?"
# "every morning" is a daily task, not one every 24 hours from now.
_INTERVAL_UNITS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY", "hour": "HOURLY",
                   "morning": "DAILY", "evening": "DAILY", "night": "DAILY"}
_ADVERB_END = (r"(?=\s*(?:$|,|\.|\band\b|\bwith\b|\bat\b|\bon\b|\bstarting\b|\bfrom\b|\bdue\b|\btagged\b|#|"
               r"\bp[1-4]\b|\bremind|\bevery\b|\bpriority\b|\burgent\b|\bbeginning\b|\bfor\b))")
WEEKDAY_LIST = rf"{WEEKDAY}s?(?:\s*(?:,\s*and|,|and|&)\s*{WEEKDAY}s?)*"

ORDINAL_DAY = r"(?P<md>\d{1,2})(?:st|nd|rd|th)?"
_RECURRENCE_PATTERNS: list[tuple[re.Pattern, str]] = [
    # A day of the month: "every month on the 1st", "monthly on the 15th", "on the 1st of every month".
    (re.compile(_RECUR_VERB + rf"(?:(?:every|each)\s+month|monthly)\s+on\s+the\s+{ORDINAL_DAY}\b", re.I), "monthday"),
    (re.compile(_RECUR_VERB + rf"on\s+the\s+{ORDINAL_DAY}\s+of\s+(?:every|each|the)\s+month\b", re.I), "monthday"),
    (re.compile(_RECUR_VERB + rf"(?:every|each)\s+{ORDINAL_DAY}\s+of\s+the\s+month\b", re.I), "monthday"),
    (re.compile(_RECUR_VERB + r"(?:every|each|on)\s+weekdays?\b|" + _RECUR_VERB + r"\bweekdays\b", re.I), "weekdays"),
    (re.compile(_RECUR_VERB + r"(?:every|each|on)\s+weekends?\b", re.I), "weekends"),
    (re.compile(_RECUR_VERB + r"every\s+(?:other|second)\s+(?P<u>day|week|month|year)\b", re.I), "other"),
    (re.compile(_RECUR_VERB + rf"every\s+(?P<n>{NUM})\s+(?P<u>day|week|month|year)s?\b", re.I), "interval"),
    (re.compile(_RECUR_VERB + rf"(?:every|each)\s+(?P<days>{WEEKDAY_LIST})\b", re.I), "days"),
    (re.compile(_RECUR_VERB + rf"on\s+(?P<days>(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s"
                              rf"(?:\s*(?:,\s*and|,|and|&)\s*{WEEKDAY}s?)*)\b", re.I), "days"),
    (re.compile(_RECUR_VERB + r"every\s+(?P<u>day|week|month|year|morning|evening|night|hour)\b", re.I), "unit"),
    (re.compile(r"(?:,?\s*(?:that|which)\s+)?(?:recurs|repeats|recurring|repeating|recur|repeat)\s+"
                r"(?P<adv>daily|weekly|monthly|yearly|annually|fortnightly|biweekly|bi-weekly|hourly)\b", re.I), "adverb"),
    (re.compile(r"\b(?P<adv>daily|weekly|monthly|yearly|annually|fortnightly|biweekly|bi-weekly)\b" + _ADVERB_END,
                re.I), "adverb"),
]


def weekday_index(word: str) -> int:
    word = word.lower()
    if word in WEEKDAY_ABBREVIATIONS:
        return WEEKDAY_ABBREVIATIONS[word]
    singular = word.removesuffix("s")
    if singular in WEEKDAYS:
        return WEEKDAYS.index(singular)
    return WEEKDAY_ABBREVIATIONS[singular]


def take_recurrence(text: str) -> tuple[str | None, str]:
    """An RRULE body for "every Monday", "weekly", "every 2 weeks", … and the text without it."""
    from .recurrence_phrases import take as take_monthly_and_more  # imports this module

    rule, rest = take_monthly_and_more(text)  # the longer phrases first: "every 3rd Friday", "1st and 15th"
    if rule is not None:
        return rule, rest
    for pattern, kind in _RECURRENCE_PATTERNS:
        match = pattern.search(text)
        if not match or (kind == "monthday" and not 1 <= int(match.group("md")) <= 31):
            continue
        if kind == "monthday":
            rule = f"FREQ=MONTHLY;BYMONTHDAY={int(match.group('md'))}"
        elif kind in {"weekdays", "weekends"}:
            rule = recurrence.SHORTHANDS[kind]
        elif kind == "other":
            rule = recurrence.compose(_INTERVAL_UNITS[match.group("u").lower()], interval=2)
        elif kind == "interval":
            rule = recurrence.compose(_INTERVAL_UNITS[match.group("u").lower()], interval=number(match.group("n")))
        elif kind == "days":
            days = re.findall(WEEKDAY + r"s?", match.group("days"), re.I)
            rule = recurrence.compose("WEEKLY", weekdays={weekday_index(day) for day in days})
        elif kind == "unit":
            rule = recurrence.compose(_INTERVAL_UNITS[match.group("u").lower()])
        else:
            rule = recurrence.SHORTHANDS[match.group("adv").lower()]
        return rule, _cut(text, match)
    return None, text


def first_fitting_day(at: datetime, rule: str) -> datetime | None:
    """For rules that name their days (BYDAY weekdays, BYMONTHDAY): the first such day on or after
    `at`'s date, at `at`'s time, so that the first occurrence fits the rule ("every Sunday at 6pm"
    read on a Friday is due on Sunday, "every month on the 31st" skips shorter months).  None for
    other rules, or when `at` already fits."""
    weekdays = set(recurrence.weekdays_of(rule))
    monthdays = {int(day) for day in recurrence.rule_parts(rule).get("BYMONTHDAY", "").split(",")
                 if day.strip().isdigit()}
    if not weekdays and not monthdays:
        return None
    for offset in range(0, 370):
        candidate = datetime.combine(at.date() + timedelta(days=offset), at.timetz())
        if (not weekdays or candidate.weekday() in weekdays) and (not monthdays or candidate.day in monthdays):
            return None if offset == 0 else candidate
    return None


def first_weekday_on_or_after(now: datetime, rule: str) -> datetime | None:
    """For BYDAY rules: the first matching day at the default time, so the first occurrence fits the rule."""
    wanted = set(recurrence.weekdays_of(rule))
    if not wanted:
        return None
    for offset in range(8):
        candidate = datetime.combine((now + timedelta(days=offset)).date(), DEFAULT_DUE_TIME, tzinfo=now.tzinfo)
        if candidate.weekday() in wanted and candidate > now:
            return candidate
    return None


# --------------------------------------------------------------------------- dates and times


_DATE_PART = (
    r"(?:the\s+)?day\s+after\s+tomorrow|today|tonight|tomorrow|tmrw|"
    r"(?:next|this|coming)\s+(?:week|month|year)|"
    r"(?:(?:next|this|coming)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    # "on mon", "next fri": a short day name only after a word that makes it one ("sun cream" stays a title).
    r"(?:(?<=\bon\s)|(?<=\bby\s)|(?<=\bdue\s)|(?:next|this|coming)\s+)(?:mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)\b|"
    rf"in\s+{NUM}\s+(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)|"
    r"\d{4}-\d{2}-\d{2}(?:[t ]\d{1,2}:\d{2})?|"
    rf"{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|"
    rf"(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}(?:,?\s+\d{{4}})?|"
    r"\d{1,2}/\d{1,2}(?:/\d{2,4})?"
)
_TIME_PART = r"(?:at\s+)?(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midnight)|at\s+\d{1,2}\b"
# A part of the day, only next to a day ("tomorrow morning", "friday in the evening", "this afternoon"):
# alone, "morning run" is a title.
PARTS_OF_DAY = {"morning": "09:00", "afternoon": "15:00", "evening": "19:00"}
_PART_OF_DAY = r"(?:in\s+the\s+)?(?:morning|afternoon|evening)"
_LEAD = r"(?:(?:due|by|on|for|starting|from|beginning|until)\s+(?:on\s+)?)?"
_WHEN = re.compile(
    rf"\b{_LEAD}(?P<first>this\s+(?:morning|afternoon|evening)|{_DATE_PART}|{_TIME_PART})"
    rf"(?:(?:\s*,?\s*|\s+)(?P<second>{_DATE_PART}|{_TIME_PART}|{_PART_OF_DAY}))?(?!\w)",
    re.I,
)


@dataclass(frozen=True)
class When:
    at: datetime
    has_time: bool


def take_when(text: str, now: datetime) -> tuple[When | None, str]:
    """The first date/time phrase in `text` ("tomorrow 5pm", "next Friday", "in 3 days", "on 2027-01-15")."""
    for match in _WHEN.finditer(text):
        phrase = match.group("first") + (" " + match.group("second") if match.group("second") else "")
        when = parse_when(phrase, now)
        if when is not None:
            return when, _cut(text, match)
    return None, text


def parse_when(phrase: str, now: datetime) -> When | None:
    """A date/time phrase on its own, read in `now`'s zone.  No time given → 09:00 (or later today)."""
    phrase = normalize(phrase).lower()
    phrase = re.sub(r"^(?:due|by|on|for|starting|from|until)\s+(?:on\s+)?", "", phrase)
    phrase = phrase.replace("tmrw", "tomorrow").replace("a.m.", "am").replace("p.m.", "pm")
    phrase = re.sub(r"\bcoming\s+", "next ", phrase)
    phrase = re.sub(r"^this\s+(morning|afternoon|evening)$", r"today \1", phrase)
    phrase = re.sub(r"\s+(?:in\s+the\s+)?(morning|afternoon|evening)$", lambda m: " " + PARTS_OF_DAY[m.group(1)],
                    phrase)
    phrase = re.sub(r"\bat\s+(\d{1,2})$", r"at \1:00", phrase)
    parsed = _dateparser_parse(phrase, now)
    if parsed is None:
        return None
    at, period = parsed
    only_time = re.fullmatch(rf"(?:{_TIME_PART})", phrase, re.I) is not None
    has_time = period == "time" or only_time or re.search(r"\b(?:tonight|noon|midnight)\b|\bin\s+\S+\s+(?:minutes?|mins?|"
                                                          r"hours?|hrs?)\b", phrase) is not None
    if not has_time:
        at = datetime.combine(at.date(), DEFAULT_DUE_TIME, tzinfo=now.tzinfo)
        if at <= now:  # "today" after nine: the end of the day
            at = datetime.combine(at.date(), time(23, 59), tzinfo=now.tzinfo)
    elif only_time and at <= now:
        at += timedelta(days=1)
    return When(at=at.replace(second=0, microsecond=0), has_time=has_time)


_ELAPSED = re.compile(rf"in\s+(?P<n>{NUM})\s*(?P<u>minutes?|mins?|hours?|hrs?)", re.I)


def _dateparser_parse(phrase: str, now: datetime) -> tuple[datetime, str] | None:
    elapsed = _ELAPSED.fullmatch(phrase)
    if elapsed:
        # "in 24 hours" is that much real time, also across a daylight-saving change.
        unit = elapsed.group("u").lower().rstrip("s")
        minutes = number(elapsed.group("n")) * UNIT_MINUTES[unit]
        return (now.astimezone(timezone.utc) + timedelta(minutes=minutes)).astimezone(now.tzinfo), "time"
    data = _date_data_parser(now.replace(tzinfo=None, second=0, microsecond=0)).get_date_data(phrase)
    if data.date_obj is None:
        return None
    # A wall-clock time in the user's zone ("tomorrow at 9am" is 9:00 there, whatever the offset that
    # day): dateparser reads it against the naive local "now", and the zone is attached afterwards.
    at = data.date_obj.replace(tzinfo=None).replace(tzinfo=now.tzinfo)
    return at, data.period or "day"


@lru_cache(maxsize=32)
def _date_data_parser(base: datetime):
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={
        "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "RETURN_AS_TIMEZONE_AWARE": False,
        "RETURN_TIME_AS_PERIOD": True, "PREFER_DAY_OF_MONTH": "first", "DATE_ORDER": "MDY",
    })


# --------------------------------------------------------------------------- sorting


_SORT = re.compile(
    r"\b(?:(?:sorted|ordered|sort|order|arranged)\s+)?by\s+(?P<key>due\s+date|deadline|due|priority|importance|"
    r"creation\s+date|date\s+created|created|creation|age|title|name|relevance|date)"
    r"(?:\s*,?\s*(?P<dir>asc(?:ending)?|desc(?:ending)?|reversed?|(?:(?:newest|latest|highest|soonest|earliest|"
    r"oldest|lowest|latest)\s+first)))?|"
    r"\b(?P<first>newest|latest|oldest|most\s+urgent|soonest|earliest)\s+first\b|"
    r"\b(?P<alpha>alphabetically|in\s+alphabetical\s+order)\b|"
    r"\b(?P<recent>(?:most\s+)?recently\s+(?:changed|updated|edited|modified|touched)|"
    r"(?:changed|updated|edited|modified)\s+(?:most\s+)?recently|recent\s+changes|last\s+(?:changed|updated|edited))\b",
    re.I,
)


def take_sort(text: str) -> tuple[str | None, str]:
    match = _SORT.search(text)
    if not match:
        return None, text
    if match.group("alpha"):
        return "title", _cut(text, match)
    if match.group("recent"):
        return "-updated_at", _cut(text, match)
    if match.group("first"):
        word = re.sub(r"\s+", " ", match.group("first").lower())
        key = {"newest": "-created_at", "latest": "-created_at", "oldest": "created_at", "most urgent": "priority",
               "soonest": "due_at", "earliest": "due_at"}[word]
        return key, _cut(text, match)
    key = SORT_WORDS[re.sub(r"\s+", " ", match.group("key").lower())]
    direction = (match.group("dir") or "").lower()
    if direction.startswith("desc") or direction.startswith("revers") or direction in {"latest first",
                                                                                      "newest first"}:
        key = key if key.startswith("-") else f"-{key}"
        if key == "-relevance":
            key = "relevance"
    if key == "priority" and direction in {"lowest first"}:
        key = "-priority"
    return key, _cut(text, match)
