"""Pages show times in the signed-in user's zone: Django's current time zone is theirs for the request."""

from django.utils import timezone

from .cleaning import user_timezone


class UserTimezoneMiddleware:
    """Activates user_timezone(request.user) for session-authenticated requests (templates' date
    filters and localtime() follow it); everyone else gets TIME_ZONE.  API requests authenticated
    by a bearer token are not affected: the API answers in UTC offsets and reads naive input in the
    user's zone explicitly (tasks_app.cleaning)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(user_timezone(user))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
