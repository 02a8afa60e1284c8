"""Template context every page needs: whether sign-up is open and whether this is a development server."""

from django.conf import settings


def site(request):
    return {"ALLOW_SIGNUP": settings.ALLOW_SIGNUP, "DEBUG": settings.DEBUG}
