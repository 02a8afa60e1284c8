"""RFC 5545 recurrence rules: parsing user input and computing occurrences.

Pure functions, no database: what a rule means is decided here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from math import gcd

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

SHORTHANDS = {
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
    "yearly": "FREQ=YEARLY",
    "annually": "FREQ=YEARLY",
    "hourly": "FREQ=HOURLY",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "bi-weekly": "FREQ=WEEKLY;INTERVAL=2",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekends": "FREQ=WEEKLY;BYDAY=SA,SU",
}
# RFC 5545 day codes, Monday first like datetime.weekday().
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_UNITS = {"HOURLY": "hour", "DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}

MAX_RULE_LENGTH = 500


class InvalidRecurrence(ValueError):
    pass


def compose(freq: str, *, interval: int = 1, weekdays: Iterable[int] = ()) -> str:
    """The RRULE body for a frequency ("WEEKLY"), every `interval` of them, on these weekdays (0 = Monday)."""
    parts = [f"FREQ={freq}"]
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    days = sorted(set(weekdays))
    if days:
        parts.append("BYDAY=" + ",".join(DAYS[day] for day in days))
    return ";".join(parts)


def rule_parts(rule: str) -> dict[str, str]:
    """NAME -> VALUE of an RRULE body (names upper-cased); parts that are not NAME=VALUE are skipped."""
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:"):]
    pairs = (part.split("=", 1) for part in body.split(";") if "=" in part)
    return {name.strip().upper(): value.strip() for name, value in pairs}


def weekdays_of(rule: str) -> list[int]:
    """The plain weekdays (0 = Monday) a rule's BYDAY names; "1MO"-style positions are left out."""
    days = rule_parts(rule).get("BYDAY", "").upper().split(",")
    return [DAYS.index(day) for day in days if day in DAYS]


def _ordinal(number: int) -> str:
    if number == -1:
        return "last"
    if number < 0:
        return f"{_ordinal(-number)} to last"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(rule: str | None, *, from_completion: bool = False) -> str:
    """A rule in words, for people: "weekly", "every 2 weeks on Tuesday", "every weekday", "every 3rd
    Friday", "every last day of the month", "monthly on the 1st and 15th"; with `from_completion`
    (Todoist's every!) ", counted from completion" follows."""
    if not rule:
        return ""
    words = _describe(rule)
    return f"{words}, counted from completion" if from_completion else words


def _describe(rule: str) -> str:
    parts = rule_parts(rule)
    freq = parts.get("FREQ", "").upper()
    interval = int(parts.get("INTERVAL", "1") or 1)
    days = weekdays_of(rule)
    plain = set(parts) <= {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "WKST"}
    if freq == "WEEKLY" and days:
        if days == weekdays_of(SHORTHANDS["weekdays"]):
            return "every weekday" if interval == 1 else f"every {interval} weeks on weekdays"
        if days == weekdays_of(SHORTHANDS["weekends"]):
            return "every weekend" if interval == 1 else f"every {interval} weeks on weekends"
        joined = _and([_DAY_NAMES[day] for day in days])
        return ("every " if interval == 1 else f"every {interval} weeks on ") + joined
    if freq == "DAILY" and days == weekdays_of(SHORTHANDS["weekdays"]) and interval == 1:
        return "every weekday"
    unit = _UNITS.get(freq)
    if unit is None:
        return f"repeats ({rule})"
    every = "every month" if interval == 1 else f"every {interval} months"
    positioned = [day for day in parts.get("BYDAY", "").upper().split(",") if len(day) > 2]
    if freq == "MONTHLY" and plain and positioned and "BYMONTHDAY" not in parts:
        try:
            named = [f"{_ordinal(int(day[:-2]))} {_DAY_NAMES[DAYS.index(day[-2:])]}" for day in positioned]
        except ValueError:
            return f"repeats ({rule})"
        lead = "every " if interval == 1 else f"{every} on the "
        return lead + _and(named) + (" of the month" if interval == 1 else "")
    monthdays = [day for day in parts.get("BYMONTHDAY", "").split(",") if day.lstrip("-").isdigit()]
    if freq == "MONTHLY" and monthdays and plain and "BYDAY" not in parts:
        numbers = [int(day) for day in monthdays]
        if numbers == [-1]:
            return "every last day of the month" if interval == 1 else f"{every} on the last day"
        named = _and([_ordinal(day) + (" day" if day < 0 else "") for day in numbers])
        return ("monthly" if interval == 1 else every) + f" on the {named}"
    if interval == 1:
        return "daily" if unit == "day" else f"{unit}ly"
    return f"every {interval} {unit}s"


def normalize_rrule(text: str | None) -> str | None:
    """The canonical RRULE body for `text`, or None for "no recurrence".

    Accepts the shorthands above, a bare RRULE body (`FREQ=WEEKLY;BYDAY=MO`) or a
    line with the `RRULE:` prefix.  Raises InvalidRecurrence naming the problem.
    """
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned or cleaned.lower() in {"none", "never"}:
        return None
    if cleaned.lower() in SHORTHANDS:
        return SHORTHANDS[cleaned.lower()]
    if cleaned.upper().startswith("RRULE:"):
        cleaned = cleaned[len("RRULE:"):]
    if "\n" in cleaned or "DTSTART" in cleaned.upper():
        raise InvalidRecurrence("give a single RRULE (e.g. FREQ=WEEKLY;BYDAY=MO); the start is the task's due date")
    if len(cleaned) > MAX_RULE_LENGTH:
        raise InvalidRecurrence(f"at most {MAX_RULE_LENGTH} characters")
    parts = [part for part in cleaned.split(";") if part]
    normalized_parts = []
    for part in parts:
        if "=" not in part:
            raise InvalidRecurrence(f"{part!r} is not NAME=VALUE")
        name, value = (piece.strip().upper() for piece in part.split("=", 1))
        if name == "UNTIL":
            value = _until_in_utc(value)
        normalized_parts.append(f"{name}={value}")
    names = [part.split("=", 1)[0] for part in normalized_parts]
    if "FREQ" not in names:
        raise InvalidRecurrence("FREQ is required (e.g. FREQ=DAILY, or one of: " + ", ".join(SHORTHANDS) + ")")
    if len(set(names)) != len(names):
        raise InvalidRecurrence("a rule part is given twice")
    rule = ";".join(normalized_parts)
    check_bounds(rule)
    # Started on one of its hours: whether an HOURLY INTERVAL reaches them depends on the due date,
    # which check_series sees.
    probe_hour = int(rule_parts(rule).get("BYHOUR", "0").split(",")[0])
    try:
        parse_rrule(rule, datetime(2000, 1, 1, probe_hour, tzinfo=timezone.utc))
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidRecurrence(str(exc) or "not a valid RRULE") from None
    return rule


def _until_in_utc(value: str) -> str:
    # Occurrences are computed from a timezone-aware start, for which RFC 5545
    # wants UNTIL in UTC: a bare date means "through the end of that day".
    if len(value) == 8 and value.isdigit():
        return f"{value}T235959Z"
    if len(value) == 15 and value[8] == "T":
        return f"{value}Z"
    return value


def parse_rrule(rule: str, dtstart: datetime) -> rrule:
    return rrulestr(rule, dtstart=dtstart)


def next_occurrence(rule: str, *, start: datetime, now: datetime, zone: tzinfo) -> datetime | None:
    """The first occurrence of `rule` after both `start` and `now`, in UTC; None once the rule has ended.

    The rule is laid out from `start` in `zone` (the user's), so that a 09:00 meeting stays
    at 09:00 across daylight-saving changes; occurrences already past are skipped.
    """
    return next_after(rule, anchor=start, after=max(start, now), zone=zone)


# --------------------------------------------------------------------------- bounds
# A rule is work for the workers, and one user's rule must never hold a worker for long
# (docs/events.md, "Recurrence"): HOURLY or slower, small INTERVALs and BY* lists, and
# nothing dateutil would have to walk decades of empty periods to answer.

FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# INTERVAL: at most 1000 periods, and never more than the search horizon (SEARCH_YEARS) can hold.
MAX_INTERVAL = {"HOURLY": 1000, "DAILY": 1000, "WEEKLY": 1000, "MONTHLY": 600, "YEARLY": 50}
MAX_COUNT = 1000
MAX_BY_VALUES = 60
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# (low, high, zero allowed, negatives allowed), as RFC 5545 section 3.3.10 bounds them.
BY_RANGES = {
    "BYSECOND": (0, 60), "BYMINUTE": (0, 59), "BYHOUR": (0, 23), "BYMONTH": (1, 12),
    "BYMONTHDAY": (-31, 31), "BYYEARDAY": (-366, 366), "BYWEEKNO": (-53, 53), "BYSETPOS": (-366, 366),
}
SIGNED = ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS")
KNOWN_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", *BY_RANGES)
DAYS_PER_PERIOD = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
UNTIL_FORMAT = "%Y%m%dT%H%M%SZ"


def _join(parts: dict[str, str]) -> str:
    return ";".join(f"{name}={value}" for name, value in parts.items())


def _whole(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidRecurrence(f"{name}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise InvalidRecurrence(f"{name}: {number} is out of range ({low} to {high})")
    return number


def check_bounds(rule: str) -> None:
    """Raise InvalidRecurrence, naming the rule part and why, unless `rule` (canonical,
    as normalize_rrule builds it) is one the workers can always expand cheaply."""
    parts = rule_parts(rule)
    unknown = [name for name in parts if name not in KNOWN_PARTS]
    if unknown:
        raise InvalidRecurrence(f"{unknown[0]} is not an RRULE part")
    freq = parts.get("FREQ", "")
    if freq in ("SECONDLY", "MINUTELY"):
        raise InvalidRecurrence(f"FREQ={freq}: repeating more often than hourly is not supported "
                                "(use HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)")
    if freq not in FREQUENCIES:
        raise InvalidRecurrence(f"FREQ: {freq!r} is not one of {', '.join(FREQUENCIES)}")
    if "INTERVAL" in parts:
        _whole("INTERVAL", parts["INTERVAL"], 1, MAX_INTERVAL[freq])
    if "COUNT" in parts:
        _whole("COUNT", parts["COUNT"], 1, MAX_COUNT)
        if "UNTIL" in parts:
            raise InvalidRecurrence("COUNT and UNTIL: give one or the other, not both")
    if "UNTIL" in parts:
        _until(parts["UNTIL"])
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise InvalidRecurrence(f"WKST: {parts['WKST']!r} is not one of {', '.join(WEEKDAYS)}")
    values = {}
    for name in ("BYDAY", *BY_RANGES):
        if name not in parts:
            continue
        listed = parts[name].split(",")
        if len(listed) > MAX_BY_VALUES:
            raise InvalidRecurrence(f"{name}: at most {MAX_BY_VALUES} values")
        if name == "BYDAY":
            for day in listed:
                prefix = day[:-2]
                if day[-2:] not in WEEKDAYS or (prefix and prefix not in ("+", "-")
                                                and not prefix.lstrip("+-").isdigit()):
                    raise InvalidRecurrence(f"BYDAY: {day!r} is not a weekday such as MO, 1MO or -1FR")
                if prefix.lstrip("+-") and _whole("BYDAY", prefix, -53, 53) == 0:
                    raise InvalidRecurrence(f"BYDAY: {day!r}: 0 is not allowed")
            continue
        low, high = BY_RANGES[name]
        values[name] = [_whole(name, value, low, high) for value in listed]
        if name in SIGNED and 0 in values[name]:
            raise InvalidRecurrence(f"{name}: 0 is not allowed")
    for name in ("BYMINUTE", "BYSECOND"):
        if len(values.get(name, ())) > 1:
            raise InvalidRecurrence(f"{name}: at most one value (occurrences at most hourly)")
    if freq == "HOURLY" and "BYSETPOS" in parts:
        raise InvalidRecurrence("BYSETPOS: not supported with FREQ=HOURLY")
    if "BYSETPOS" in values:
        # A position past the largest set a period can hold never matches (and would be searched for).
        largest = DAYS_PER_PERIOD[freq] * len(values.get("BYHOUR", [0]))
        if all(abs(position) > largest for position in values["BYSETPOS"]):
            raise InvalidRecurrence(f"BYSETPOS: a FREQ={freq} period holds at most {largest} occurrences here")
    if "BYMONTHDAY" in values and not any(day < 0 for day in values["BYMONTHDAY"]):
        months = values.get("BYMONTH", range(1, 13))
        if not any(day <= DAYS_IN_MONTH[month - 1] for day in values["BYMONTHDAY"] for month in months):
            days = ",".join(map(str, values["BYMONTHDAY"]))
            raise InvalidRecurrence(f"BYMONTHDAY={days}: no month in BYMONTH has that day, so the rule never "
                                    "occurs")


def _until(value: str) -> datetime:
    try:
        return datetime.strptime(value, UNTIL_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise InvalidRecurrence(f"UNTIL: {value!r} is not a date (20271231) or a UTC date-time "
                                "(20271231T170000Z)") from None


# --------------------------------------------------------------------------- the next occurrence

SEARCH_YEARS = 50  # the next occurrence is looked for this far ahead; a rule with none there is refused
# The Gregorian calendar repeats exactly every 400 years (146,097 days, a whole number of weeks).
CYCLE_YEARS = 400
# dateutil gives up on a rule only at year 9999, walking every empty period to get there (a rule
# that never matches took minutes).  Searching in a copy of the calendar moved by whole cycles to
# just before that year keeps the walk within about one cycle whatever the dates; the answer is
# moved back by the same amount.
LAST_SEARCH_YEAR = 9999 - SEARCH_YEARS - 1
# BYSETPOS counts within a period's set, which dateutil bounds to ±366.
MAX_SET_POSITION = 366


def _explicit(parts: dict[str, str], anchor: datetime) -> dict[str, str]:
    """Spell out what RFC 5545 takes from DTSTART, so the search can start elsewhere without
    changing what the rule means.

    Month-end: a MONTHLY (or single-month YEARLY) series anchored on the 29th-31st with no day of
    its own falls on the last day of shorter months — the latest of the 28th..anchor day that the
    month has (a BYMONTHDAY set with BYSETPOS), so Jan 31 → Feb 28 → Mar 31, Jan 30 → Feb 28 →
    Mar 30 and Feb 29 → Feb 28 in common years.  Rules that name their days (BYMONTHDAY=31) keep
    RFC 5545's meaning: months without that day are skipped."""
    parts = {name: value for name, value in parts.items() if name != "COUNT"}
    freq = parts["FREQ"]
    chooses_days = any(name in parts for name in ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"))
    if freq != "HOURLY":
        parts.setdefault("BYHOUR", str(anchor.hour))
    parts.setdefault("BYMINUTE", str(anchor.minute))
    parts.setdefault("BYSECOND", str(anchor.second))
    if freq == "WEEKLY" and not chooses_days:
        parts["BYDAY"] = WEEKDAYS[anchor.weekday()]
    if freq in ("MONTHLY", "YEARLY") and not chooses_days:
        if freq == "YEARLY" and "BYMONTH" not in parts:
            parts["BYMONTH"] = str(anchor.month)
        # Times per day: the last that many of a month's set are the times of its latest day.
        per_day = 1
        for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            per_day *= len(parts[name].split(","))
        one_month = freq == "MONTHLY" or "," not in parts["BYMONTH"]
        if anchor.day >= 29 and "BYSETPOS" not in parts and one_month and per_day <= MAX_SET_POSITION:
            parts["BYMONTHDAY"] = ",".join(str(day) for day in range(28, anchor.day + 1))
            parts["BYSETPOS"] = ",".join(str(-position) for position in range(per_day, 0, -1))
        else:
            parts["BYMONTHDAY"] = str(anchor.day)
    return parts


def rule_spelled_out(rule: str, *, anchor: datetime, zone: tzinfo) -> dict[str, str]:
    """The parts of `rule` with what RFC 5545 takes from DTSTART (weekday, day of month, month-end
    clamping, time of day) spelled out from the series' `anchor` laid out in `zone`, so that a
    calendar app expanding it from a later occurrence (tasks_app.calendar_feed) finds the same dates
    as next_after.  COUNT is left out: the caller counts what remains of the series."""
    return _explicit(rule_parts(rule), anchor.astimezone(zone).replace(tzinfo=None))


def _period_start(anchor: datetime, parts: dict[str, str], target: datetime) -> datetime:
    """The start of the rule's period holding `target` (or the anchor, if that is later), on the
    INTERVAL grid counted from the anchor's period.  Naive wall-clock times, as dateutil counts."""
    if target <= anchor:
        return anchor
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    midnight = {"hour": 0, "minute": 0, "second": 0}
    if freq == "HOURLY":
        hours = int((target - anchor.replace(minute=0, second=0)).total_seconds() // 3600)
        return anchor.replace(minute=0, second=0) + timedelta(hours=hours - hours % interval)
    if freq == "DAILY":
        days = (target.date() - anchor.date()).days
        return anchor.replace(**midnight) + timedelta(days=days - days % interval)
    if freq == "WEEKLY":
        week_start = WEEKDAYS.index(parts.get("WKST", "MO"))
        first = anchor.replace(**midnight) - timedelta(days=(anchor.weekday() - week_start) % 7)
        weeks = (target - first).days // 7
        return first + timedelta(weeks=weeks - weeks % interval)
    if freq == "MONTHLY":
        months = (target.year - anchor.year) * 12 + target.month - anchor.month
        return anchor.replace(day=1, **midnight) + relativedelta(months=months - months % interval)
    years = target.year - anchor.year
    return anchor.replace(month=1, day=1, **midnight) + relativedelta(years=years - years % interval)


def next_after(rule: str, *, anchor: datetime, after: datetime, zone: tzinfo) -> datetime | None:
    """The first occurrence of `rule` strictly after `after`, for a series that started at `anchor`,
    laid out in `zone` (so 09:00 stays 09:00 across daylight-saving changes), in UTC.

    None when the rule's UNTIL has passed or nothing falls within SEARCH_YEARS of `after`.  COUNT
    is not applied here: the series counts its own occurrences.  The cost is bounded whatever the
    dates and the rule (a few hundred milliseconds for a rule that never matches); a rule outside
    check_bounds raises InvalidRecurrence rather than being walked."""
    check_bounds(rule)
    parts = rule_parts(rule)
    local_anchor = anchor.astimezone(zone).replace(tzinfo=None)
    local_after = after.astimezone(zone).replace(tzinfo=None, fold=0)
    explicit = _explicit(parts, local_anchor)
    if not hourly_phase_reaches(explicit, local_anchor.hour):
        return None
    # Due dates are bounded well before this; the clamp only keeps the arithmetic in range.
    horizon = min(local_after, datetime(LAST_SEARCH_YEAR, 1, 1)) + relativedelta(years=SEARCH_YEARS)
    if "UNTIL" in explicit:
        until = _until(explicit["UNTIL"]).astimezone(zone).replace(tzinfo=None)
        if until <= local_after:
            return None
        horizon = min(horizon, until)
    start = _period_start(local_anchor, explicit, local_after)
    shift = relativedelta(years=CYCLE_YEARS * ((LAST_SEARCH_YEAR - horizon.year) // CYCLE_YEARS))
    explicit["UNTIL"] = (horizon + shift).strftime("%Y%m%dT%H%M%S")
    search = rrulestr(_join(explicit), dtstart=start + shift, cache=False)
    following = local_after + shift
    while True:
        found = search.after(following, inc=False)
        if found is None:
            return None
        local = found - shift
        # A wall-clock time the zone skips or repeats (daylight saving) has one UTC reading per
        # fold; take the earliest that is still after `after`.
        for fold in (0, 1):
            moment = local.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc)
            if moment > after:
                return moment
        following = found


def completion_anchor(completed_at: datetime, due_at: datetime | None, zone: tzinfo) -> datetime:
    """Where an every! (repeat from completion) series starts again: the completion day in `zone` at
    the due date's time of day (the completion time itself for a task without a due date)."""
    done = completed_at.astimezone(zone)
    if due_at is None:
        return done
    due = due_at.astimezone(zone)
    local = datetime.combine(done.date(), due.time().replace(tzinfo=None))
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def upcoming(rule: str, *, anchor: datetime, after: datetime, zone: tzinfo, count: int,
             remaining: int | None = None) -> list[datetime]:
    """The next `count` occurrences of a series strictly after `after` (at most `remaining`, what
    COUNT leaves), in UTC; fewer when the rule ends."""
    found: list[datetime] = []
    limit = count if remaining is None else min(count, max(remaining, 0))
    while len(found) < limit:
        following = next_after(rule, anchor=anchor, after=after, zone=zone)
        if following is None:
            break
        found.append(following)
        after = following
    return found


def hourly_phase_reaches(parts: dict[str, str], anchor_hour: int) -> bool:
    """Whether an HOURLY rule's INTERVAL steps from the anchor ever land on one of its BYHOURs."""
    if parts.get("FREQ") != "HOURLY" or "BYHOUR" not in parts:
        return True
    step = gcd(int(parts.get("INTERVAL", "1")), 24)
    return any((int(hour) - anchor_hour) % step == 0 for hour in parts["BYHOUR"].split(","))


def check_series(rule: str, *, start: datetime, zone: tzinfo) -> None:
    """Raise InvalidRecurrence, saying why, when a series of `rule` starting at `start` has no
    occurrence after its start (within SEARCH_YEARS)."""
    parts = rule_parts(rule)
    local_start = start.astimezone(zone)
    if not hourly_phase_reaches(parts, local_start.hour):
        step = gcd(int(parts.get("INTERVAL", "1")), 24)
        raise InvalidRecurrence(f"BYHOUR={parts['BYHOUR']}: every {parts.get('INTERVAL', '1')} hours from "
                                f"{local_start:%H:00} never reaches these hours (only hours {local_start.hour % step}"
                                f" + multiples of {step})")
    if next_after(rule, anchor=start, after=start, zone=zone) is None:
        if "UNTIL" in parts:
            raise InvalidRecurrence("UNTIL: the rule has no occurrence after the due date and before UNTIL")
        raise InvalidRecurrence(f"the rule has no occurrence in the {SEARCH_YEARS} years after the due date")
