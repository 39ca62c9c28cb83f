# Django site for the real-application cells of bench/run.py: one view that
# runs a small SQLite query through Django's database layer and renders a
# template file, behind the middleware stack `django-admin startproject`
# generates.  The database (bench.sqlite3, 20 rows) sits next to this file;
# bench/realapps.py creates it before each server starts (make_django_db()).
# Served as a WSGI script (mod_wsgi-express) and as django_app:application
# (gunicorn, granian).
import os

import django
from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
DB_PATH = os.path.join(HERE, "bench.sqlite3")

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="bench-only-not-secret",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3",
            # read-only: the server's user need not own the file
            "NAME": "file:%s?mode=ro" % DB_PATH,
        }},
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [os.path.join(HERE, "templates")],
        }],
        USE_TZ=True,
    )
    django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402


def items(request):
    with connection.cursor() as cur:
        cur.execute("SELECT name, value FROM item WHERE value >= %s "
                    "ORDER BY id LIMIT 20", [0])
        rows = [{"name": n, "value": v} for n, v in cur.fetchall()]
    return render(request, "items.html", {"title": "Items", "items": rows})


urlpatterns = [path("", items)]

application = get_wsgi_application()

