"""The sign-up form: a page's view of tasks_app.accounts.user_register and its errors."""

from django import forms
from django.core.exceptions import ValidationError

from . import accounts


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def register(self):
        """The new user, or None with the service's errors added to this form."""
        try:
            return accounts.user_register(username=self.cleaned_data["username"],
                                          password=self.cleaned_data["password"])
        except accounts.UsernameTaken as exc:
            self.add_error("username", str(exc))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return None
