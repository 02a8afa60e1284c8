"""How the REST API knows the caller: a Bearer token (tasks_app.accounts) or the browser session."""

from ninja.security import HttpBearer, django_auth

from . import accounts


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>` from POST /api/auth/token or `manage.py issue_token`."""

    def authenticate(self, request, token):
        found = accounts.api_token_find(token)
        if found is None:
            return None
        request.user = found.user
        request.api_token = found  # DELETE /api/auth/token revokes this one
        return found.user


bearer_token = BearerToken()


# Browser pages call the API with their session (and CSRF token); other clients with a token.
api_auth = [bearer_token, django_auth]
