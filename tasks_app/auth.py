"""How the REST API knows the caller: a Bearer token (tasks_app.accounts) or the browser session."""

from ninja.security import HttpBearer, django_auth

from . import accounts


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` from POST /api/auth/token or `manage.py issue_token`."""

    def authenticate(self, request, token):
        user = accounts.api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


# Browser pages call the API with their session (and CSRF token); other clients with a token.
api_auth = [BearerToken(), django_auth]
