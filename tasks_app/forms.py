"""The sign-up form: a page's view of tasks_app.accounts.user_register and its errors."""

from django import forms
from django.core.exceptions import ValidationError

from . import accounts


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    # The page also posts `timezone`, filled by its script from Intl.DateTimeFormat().resolvedOptions().timeZone.
    # Not a form field: a guess must never fail a sign-up, so it is read raw and whatever zoneinfo does not
    # know is ignored (the profile then starts in TIME_ZONE).

    def register(self):
        """The new user, or None with the service's errors added to this form."""
        try:
            return accounts.user_register(username=self.cleaned_data["username"],
                                          password=self.cleaned_data["password"],
                                          timezone_guess=self.data.get("timezone") or None)
        except accounts.UsernameTaken as exc:
            self.add_error("username", str(exc))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return None
