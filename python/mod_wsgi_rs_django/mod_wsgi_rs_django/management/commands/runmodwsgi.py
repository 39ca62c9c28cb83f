"""``python manage.py runmodwsgi [mod_wsgi-express start-server options]``.

Maps the Django settings to ``mod_wsgi-express start-server`` options the way
mod_wsgi 6's ``runmodwsgi`` does, then replaces this process with mod_wsgi-express
(found through ``$MOD_WSGI_EXPRESS`` or on ``PATH``), so the PID is Apache's parent:

* ``WSGI_APPLICATION = "mysite.wsgi.application"`` becomes the entry point
  ``mysite.wsgi`` with ``--application-type module --callable-object application``;
* ``--working-directory`` is ``BASE_DIR`` (else the directory above the settings
  package) unless given;
* ``--url-alias STATIC_URL STATIC_ROOT`` is added unless WhiteNoise is in
  ``MIDDLEWARE`` (and only for a ``STATIC_URL`` starting with ``/`` and a set
  ``STATIC_ROOT``);
* Apache's Python must import this package too when it is in ``INSTALLED_APPS``, so
  its parent directory is added with ``--python-path``, as are the site-packages of a
  virtual environment this command runs in.

Every other argument is passed through unchanged; ``--settings`` and ``--pythonpath``
are Django's (``--pythonpath`` is also passed on as ``--python-path``).
"""

import os
import shutil
import sys

from django.core.management.base import BaseCommand, CommandError

EXPRESS_ENV = "MOD_WSGI_EXPRESS"
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
APP_NAME = "mod_wsgi_rs_django"


def _given(args, name):
    """True when option ``name`` appears in ``args`` (``--name V`` or ``--name=V``)."""
    return any(a == name or a.startswith(name + "=") for a in args)


def split_django_options(argv):
    """Removes Django's ``--settings``/``--pythonpath`` from ``argv``.

    Returns (remaining arguments, python paths given with ``--pythonpath``).
    """
    rest, paths = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if name in ("--settings", "--pythonpath"):
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            if name == "--pythonpath" and value:
                paths.append(value)
        else:
            rest.append(arg)
        i += 1
    return rest, paths


def _working_directory(settings):
    base = getattr(settings, "BASE_DIR", None)
    if base:
        return str(base)
    settings_module = os.environ["DJANGO_SETTINGS_MODULE"]
    root = sys.modules[settings_module.split(".")[0]]
    return os.path.dirname(os.path.dirname(os.path.abspath(root.__file__)))


def _static_alias(settings):
    middleware = getattr(settings, "MIDDLEWARE", None)
    if middleware is None:
        middleware = getattr(settings, "MIDDLEWARE_CLASSES", [])
    if WHITENOISE in middleware:
        return None
    static_url = str(getattr(settings, "STATIC_URL", "") or "")
    static_root = str(getattr(settings, "STATIC_ROOT", "") or "")
    if static_url.startswith("/") and static_root:
        return [static_url.rstrip("/") or "/", static_root]
    return None


def _virtualenv_site_packages():
    if sys.prefix == getattr(sys, "base_prefix", sys.prefix):
        return []
    import site

    prefix = os.path.join(sys.prefix, "")
    return [
        p for p in site.getsitepackages() if p.startswith(prefix) and os.path.isdir(p)
    ]


def express_arguments(settings, user_args, python_paths=()):
    """The ``mod_wsgi-express`` argument list (without the program name)."""
    wsgi_application = getattr(settings, "WSGI_APPLICATION", None)
    if not wsgi_application or "." not in wsgi_application:
        raise CommandError(
            "settings.WSGI_APPLICATION must name the WSGI callable, "
            "e.g. 'mysite.wsgi.application'"
        )
    module_name, callable_object = wsgi_application.rsplit(".", 1)
    args = ["start-server", module_name, "--application-type", "module"]
    if not _given(user_args, "--callable-object"):
        args += ["--callable-object", callable_object]
    if not _given(user_args, "--working-directory"):
        args += ["--working-directory", _working_directory(settings)]
    alias = _static_alias(settings)
    if alias:
        args += ["--url-alias"] + alias
    paths = list(python_paths)
    if APP_NAME in getattr(settings, "INSTALLED_APPS", []):
        package = sys.modules[APP_NAME.split(".")[0]]
        paths.append(os.path.dirname(os.path.dirname(os.path.abspath(package.__file__))))
    paths += _virtualenv_site_packages()
    seen = set()
    for path in paths:
        if path not in seen:
            seen.add(path)
            args += ["--python-path", path]
    return args + list(user_args)


def find_express():
    explicit = os.environ.get(EXPRESS_ENV)
    if explicit:
        return explicit
    found = shutil.which("mod_wsgi-express")
    if not found:
        raise CommandError(
            "mod_wsgi-express was not found on PATH; install mod_wsgi-rs or set "
            + EXPRESS_ENV
        )
    return found


class Command(BaseCommand):
    help = (
        "Starts Apache with mod_wsgi-rs (mod_wsgi-express start-server) for this "
        "project. Takes every mod_wsgi-express start-server option."
    )

    def run_from_argv(self, argv):
        # The express options are passed through as they are, so Django's argument
        # parser (which would reject them) is bypassed; manage.py has already applied
        # --settings and --pythonpath before calling this.
        user_args, python_paths = split_django_options(argv[2:])
        express = find_express()
        if "-h" in user_args or "--help" in user_args:
            self.stdout.write(
                "usage: %s %s [mod_wsgi-express start-server options]\n\n%s\n"
                % (os.path.basename(argv[0]), argv[1], self.help)
            )
            self.stdout.flush()
            os.execv(express, [express, "start-server", "--help"])
        from django.conf import settings

        try:
            args = express_arguments(settings, user_args, python_paths)
        except CommandError as exc:
            self.stderr.write("CommandError: %s\n" % exc)
            sys.exit(2)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execv(express, [express] + args)
        except OSError as exc:
            self.stderr.write("CommandError: cannot run %s: %s\n" % (express, exc))
            sys.exit(2)

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv execs
        raise CommandError("runmodwsgi must be run from manage.py")
