"""Writing a user's preferences: time zone, default reminder lead time, quiet hours, week start.

A user's profile is created on sign-up (accounts.user_register) or, for users from before
profiles, on their first change.  A new zone changes how times are read and shown, never
the moments already stored: a task due at 09:00 in Europe/London is due at 10:00 in
Europe/Berlin afterwards, the same instant (ProfileChange.note says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ..cleaning import (
    clean_reminder,
    clean_time_of_day,
    clean_timezone,
    clean_week_start,
    find_timezone,
)
from ..models import Profile
from ..selectors import default_timezone_name

# Fields a caller may change with profile_update.
PROFILE_FIELDS = ("timezone", "default_reminder_minutes", "quiet_hours_start", "quiet_hours_end", "week_start")


@dataclass
class ProfileChange:
    profile: Profile
    previous_timezone: str
    # One sentence for a person when the zone changed, else "".
    note: str = ""


def profile_ensure(*, user, timezone: str | None = None) -> Profile:
    """`user`'s profile, created with the defaults (and `timezone` if it is a zone zoneinfo knows,
    e.g. the browser's guess at sign-up; anything else is ignored) when missing."""
    guessed = find_timezone(timezone) if timezone else None
    profile, _ = Profile.objects.get_or_create(user=user, defaults={"timezone": guessed or default_timezone_name()})
    user.profile = profile  # later user_timezone(user) calls read this one
    return profile


def _clean_default_reminder(value: Any) -> int | None:
    try:
        return clean_reminder(value)
    except ValidationError as exc:
        raise ValidationError({"default_reminder_minutes": exc.message_dict["reminder_minutes_before"]}) from None


@transaction.atomic
def profile_update(*, user, **changes: Any) -> ProfileChange:
    """Apply `changes` (a subset of PROFILE_FIELDS) to `user`'s profile; ValidationError naming the
    field for a bad value (nothing is saved then).  None turns an optional preference off."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    profile_ensure(user=user)
    profile = Profile.objects.select_for_update().get(user=user)
    previous = profile.timezone
    cleaners = {
        "timezone": clean_timezone,
        "default_reminder_minutes": _clean_default_reminder,
        "quiet_hours_start": lambda value: clean_time_of_day("quiet_hours_start", value),
        "quiet_hours_end": lambda value: clean_time_of_day("quiet_hours_end", value),
        "week_start": clean_week_start,
    }
    for name, clean in cleaners.items():
        if name in changes:
            setattr(profile, name, clean(changes[name]))
    if (profile.quiet_hours_start is None) != (profile.quiet_hours_end is None):
        missing = "quiet_hours_end" if profile.quiet_hours_end is None else "quiet_hours_start"
        raise ValidationError({missing: ["quiet hours need both a start and an end (or neither)"]})
    if profile.quiet_hours_start is not None and profile.quiet_hours_start == profile.quiet_hours_end:
        raise ValidationError({"quiet_hours_end": ["must differ from quiet_hours_start"]})
    profile.full_clean(exclude=["user"], validate_constraints=False)
    profile.save()
    user.profile = profile
    note = ""
    if profile.timezone != previous:
        note = (f"Your time zone is now {profile.timezone} (it was {previous}). Due dates keep their moment in "
                f"time and are shown in {profile.timezone} from now on; times you type without an offset are "
                f"read in {profile.timezone}.")
    return ProfileChange(profile=profile, previous_timezone=previous, note=note)
