"""/api/calendar-feed: the signed-in user's secret calendar feed URL — read, rotate, turn off."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema, Status

from todo_project.problems import SIGNED_IN, SIGNED_IN_WRITE, documented

from . import services
from .views import feed_url

router = Router(tags=["calendar feed"])


class CalendarFeedOut(Schema):
    enabled: bool
    url: str | None = Field(None, description="Subscribe to it in a calendar app: open tasks with due dates as "
                                              "VTODO. Anyone holding it reads them; rotate it if it leaks.")
    event_url: str | None = Field(None, description="The same tasks as VEVENT, for apps that ignore VTODO")
    created_at: datetime | None = None


def _out(request, feed) -> dict:
    if feed is None:
        return {"enabled": False}
    return {"enabled": True, "url": feed_url(request, feed), "event_url": feed_url(request, feed, kind="event"),
            "created_at": feed.created_at}


@router.get("/calendar-feed", response=documented(CalendarFeedOut, SIGNED_IN), operation_id="calendar_feed_get",
            summary="Your calendar feed's URL, or enabled=false when it is off")
def get_calendar_feed(request):
    return _out(request, services.calendar_feed_get(user=request.auth))


@router.post("/calendar-feed/rotate", response=documented(CalendarFeedOut, SIGNED_IN_WRITE),
             operation_id="calendar_feed_rotate",
             summary="A new feed URL (turns the feed on); the old URL answers 404 from now on")
def rotate_calendar_feed(request):
    return _out(request, services.calendar_feed_rotate(user=request.auth))


@router.delete("/calendar-feed", response=documented({204: None}, SIGNED_IN_WRITE), operation_id="calendar_feed_turn_off",
               summary="Turn the feed off (its URL answers 404 from now on); 204 also when it was off")
def turn_off_calendar_feed(request):
    services.calendar_feed_turn_off(user=request.auth)
    return Status(204, None)
