# A portion of the mod_wsgi namespace without a top-level __init__.py.
