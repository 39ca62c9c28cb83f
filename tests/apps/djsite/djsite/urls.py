from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def hello(request):
    # A plain view: for HEAD, Django returns the body and leaves dropping it to
    # the server (CommonMiddleware is in MIDDLEWARE).
    return HttpResponse("django says hello", content_type="text/plain")


urlpatterns = [path("admin/", admin.site.urls), path("hello/", hello)]
