from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from . import selectors
from .forms import SignupForm


def signup(request):
    if not settings.ALLOW_SIGNUP:
        raise Http404("sign-up is turned off on this server")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.register()
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form})


@login_required
def home(request):
    page = selectors.task_list(user=request.user, completed=False, limit=selectors.MAX_PAGE_SIZE)
    return render(request, "tasks_app/home.html", {"page": page})
