# A one-file Django site for the soak run (bench/soak.py): one view that
# renders a small template with a context, through Django's full request
# handling (URL resolver, middleware, template engine, response).
import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="soak-only-not-secret",
        MIDDLEWARE=[
            "django.middleware.common.CommonMiddleware",
        ],
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"string_if_invalid": ""},
        }],
        USE_TZ=True,
    )
    django.setup()

from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

TEMPLATE = engines["django"].from_string(
    "<ul>{% for item in items %}<li>{{ item.name }}: {{ item.value }}</li>"
    "{% endfor %}</ul>\n")


def view(request):
    items = [{"name": "item%d" % i, "value": i * i} for i in range(20)]
    return HttpResponse(TEMPLATE.render({"items": items}))


urlpatterns = [path("", view)]

application = get_wsgi_application()
