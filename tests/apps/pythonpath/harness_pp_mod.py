# Importable only through WSGIPythonPath.
MARKER = "pp-mod-ok"
