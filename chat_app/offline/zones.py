"""Time zones as people write them in a chat: "Europe/Berlin", "america/new_york", "UTC", "Berlin".

Pure: the names come from the tz database (zoneinfo), looked up through
tasks_app.cleaning.find_timezone, the same rule the profile service checks with.
"""

from __future__ import annotations

import re
from functools import cache

from tasks_app.cleaning import find_timezone, timezone_names

# The longest thing read as a zone name: a city or an IANA name, not a paragraph.
ZONE_PHRASE_MAX_LENGTH = 60


@cache
def _by_city() -> dict[str, str]:
    """IANA names by their last part ("new york" → America/New_York), for the cities only one zone has."""
    found: dict[str, list[str]] = {}
    for name in timezone_names().values():
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/")):
            continue
        city = name.rsplit("/", 1)[1].replace("_", " ").casefold()
        found.setdefault(city, []).append(name)
    return {city: names[0] for city, names in found.items() if len(names) == 1}


def zone_named(phrase: str) -> str | None:
    """The IANA zone `phrase` names ("Europe/Berlin", "berlin", "New York", "utc"), or None."""
    phrase = phrase.strip().strip("\"'").strip()
    if not phrase or len(phrase) > ZONE_PHRASE_MAX_LENGTH:
        return None
    phrase = re.sub(r"\s+(?:time(?:\s*zone)?)$", "", phrase, flags=re.I)
    return find_timezone(phrase) or _by_city().get(re.sub(r"\s+", " ", phrase).casefold())


def looks_like_zone(phrase: str) -> bool:
    """Written as a zone name ("Mars/Olympus", "UTC+2"), known or not: worth telling the user it is unknown."""
    return bool(re.fullmatch(r"[A-Za-z][\w+\-]*(?:/[\w+\-]+)+|(?:utc|gmt)\s*[+-]?\s*\d{0,2}(?::?\d\d)?", phrase.strip(),
                             re.I))
