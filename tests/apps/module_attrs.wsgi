# Reports the static attributes of the built-in mod_wsgi and apache modules.
import apache
import mod_wsgi


def application(environ, start_response):
    lines = [
        "mod_wsgi.version=%r" % (mod_wsgi.version,),
        "mod_wsgi.process_group=%r" % (mod_wsgi.process_group,),
        "mod_wsgi.application_group=%r" % (mod_wsgi.application_group,),
        "mod_wsgi.maximum_processes=%r" % (mod_wsgi.maximum_processes,),
        "mod_wsgi.threads_per_process=%r" % (mod_wsgi.threads_per_process,),
        "mod_wsgi.FileWrapper=%r" % (mod_wsgi.FileWrapper is environ["wsgi.file_wrapper"],),
        "apache.version=%r" % (apache.version,),
        "apache.mpm_name=%r" % (apache.mpm_name,),
        "apache.description=%r" % (apache.description,),
        "apache.maximum_processes=%r" % (apache.maximum_processes,),
        "apache.threads_per_process=%r" % (apache.threads_per_process,),
    ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]
