"""A user's secret iCalendar feed: their open dated tasks at /calendar/<token>.ics for calendar apps.

services.py issues, rotates and turns off the feed's token and finds the feed a token opens;
building.py writes the calendar; views.py serves it (and the settings page's buttons); api.py is
/api/calendar-feed.
"""
