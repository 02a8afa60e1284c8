"""Writing a user's preferences: time zone, default reminder lead time, quiet hours, week start,
email address and email reminders.

A user's profile is created on sign-up (accounts.user_register) or, for users from before
profiles, on their first change.  A new zone changes how times are read and shown, never
the moments already stored: a task due at 09:00 in Europe/London is due at 10:00 in
Europe/Berlin afterwards, the same instant (ProfileChange.note says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from ..cleaning import (
    clean_reminder,
    clean_text,
    clean_time_of_day,
    clean_timezone,
    clean_week_start,
    find_timezone,
)
from ..models import Profile
from ..selectors import default_timezone_name

# Fields a caller may change with profile_update.
PROFILE_FIELDS = ("timezone", "default_reminder_minutes", "quiet_hours_start", "quiet_hours_end", "week_start",
                  "email", "email_reminders")
EMAIL_MAX_LENGTH = 254  # RFC 5321's limit on a forward path, and Django's EmailField's


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


def clean_email(value: Any) -> str:
    """An address to send reminders to, or "" for none (None too)."""
    if value is None:
        return ""
    address = clean_text("email", value, max_length=EMAIL_MAX_LENGTH).strip()
    if address:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError({"email": ["is not an email address"]}) from None
    return address


def _clean_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError({name: ["must be true or false"]})
    return value


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
    email = clean_email(changes["email"]) if "email" in changes else user.email
    if "email_reminders" in changes:
        profile.email_reminders = _clean_flag("email_reminders", changes["email_reminders"])
    if profile.email_reminders and not email:
        if "email_reminders" not in changes:
            raise ValidationError({"email": ["cannot be removed while email reminders are on: turn them off too"]})
        raise ValidationError({"email_reminders": ["need an email address: give one (email) first"]})
    if profile.email_reminders and not settings.EMAIL_ENABLED and "email_reminders" in changes:
        raise ValidationError({"email_reminders": ["this server does not send email (no EMAIL_URL)"]})
    profile.full_clean(exclude=["user"], validate_constraints=False)
    profile.save()
    if email != user.email:  # the address lives on the user (Django's own field), written with the profile
        user.email = email
        user.save(update_fields=["email"])
    user.profile = profile
    note = ""
    if profile.timezone != previous:
        note = (f"Your time zone is now {profile.timezone} (it was {previous}). Due dates keep their moment in "
                f"time and are shown in {profile.timezone} from now on; times you type without an offset are "
                f"read in {profile.timezone}.")
    return ProfileChange(profile=profile, previous_timezone=previous, note=note)
