/* Thin C shim for mod_wsgi-rs; see shim.h. Built with -fvisibility=hidden so
 * that nothing here is exported: the module record `wsgi_module` itself is
 * defined in Rust (src/lib.rs). */
#include "shim.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "scoreboard.h"
#include "mpm_common.h"
#include "ap_provider.h"
#include "mod_auth.h"

APLOG_USE_MODULE(wsgi);

static const wsgi_shim_callbacks *wsgi_cb;

static const char *wsgi_shim_directive(cmd_parms *cmd, void *mconfig, const char *args)
{
    return wsgi_cb->directive(cmd, mconfig, args);
}

/* <WSGIInterpreterOptions ...>: Rust checks the opening line and the names
 * of the directives inside and starts a new block; then the directives
 * inside are read (through the callback above, which sees the enclosing
 * section and fills that block in), as mod_wsgi's section handler. */
/* Weak: the command table, which names this function, is kept alive in
 * executables that link the library outside httpd (the fuzz targets, built
 * with AddressSanitizer, which registers every global); there the symbol
 * stays unresolved and this function is never called. In httpd the dynamic
 * linker resolves it as usual. */
#pragma weak ap_walk_config
static const char *wsgi_shim_section(cmd_parms *cmd, void *mconfig, const char *args)
{
    const char *err = wsgi_cb->directive(cmd, mconfig, args);
    if (err != NULL)
        return err;
    return ap_walk_config(cmd->directive->first_child, cmd, cmd->server->lookup_defaults);
}

/* Every directive is RAW_ARGS: Rust splits the words (src/config/words.rs,
 * quoting as ap_getword_conf plus mod_wsgi's quoted option values) and
 * reports wrong counts and bad values with the directive's name. Contexts
 * follow mod_wsgi 6 (src/server/mod_wsgi.c, wsgi_commands[]). */
#define WSGI_DIRECTIVE(name, where, help) \
    AP_INIT_RAW_ARGS(name, wsgi_shim_directive, NULL, where, help)

const command_rec wsgi_shim_command_table[] = {
    WSGI_DIRECTIVE("WSGIScriptAlias", RSRC_CONF,
                   "Map location to target WSGI script file."),
    WSGI_DIRECTIVE("WSGIScriptAliasMatch", RSRC_CONF,
                   "Map location regex to target WSGI script file."),
    WSGI_DIRECTIVE("WSGIChunkedRequest", OR_FILEINFO,
                   "Enable/Disable support for chunked requests."),
    WSGI_DIRECTIVE("WSGIMapHEADToGET", OR_FILEINFO,
                   "Enable/Disable/Auto mapping of HEAD to GET."),
    WSGI_DIRECTIVE("WSGIEnableSendfile", OR_FILEINFO,
                   "Enable/Disable use of kernel sendfile."),
    WSGI_DIRECTIVE("WSGIErrorOverride", OR_FILEINFO,
                   "Enable/Disable overriding of error pages."),
    WSGI_DIRECTIVE("WSGIHandlerScript", ACCESS_CONF | RSRC_CONF,
                   "Location of WSGI handler script file."),
    WSGI_DIRECTIVE("WSGIImportScript", RSRC_CONF,
                   "Location of WSGI import script."),
    WSGI_DIRECTIVE("WSGITrustedProxyHeaders", OR_FILEINFO,
                   "Specify a list of trusted proxy headers."),
    WSGI_DIRECTIVE("WSGITrustedProxies", OR_FILEINFO,
                   "Specify a list of trusted proxies."),
    WSGI_DIRECTIVE("WSGIRestrictEmbedded", RSRC_CONF,
                   "Enable/Disable use of embedded mode."),
    WSGI_DIRECTIVE("WSGICaseSensitivity", RSRC_CONF,
                   "Define whether file system is case sensitive."),
    WSGI_DIRECTIVE("WSGIRestrictStdin", RSRC_CONF,
                   "Enable/Disable restrictions on use of STDIN."),
    WSGI_DIRECTIVE("WSGIRestrictStdout", RSRC_CONF,
                   "Enable/Disable restrictions on use of STDOUT."),
    WSGI_DIRECTIVE("WSGIRestrictSignal", RSRC_CONF,
                   "Enable/Disable restrictions on use of signal()."),
    WSGI_DIRECTIVE("WSGIProcessGroup", ACCESS_CONF | RSRC_CONF,
                   "Name of the WSGI process group."),
    WSGI_DIRECTIVE("WSGIApplicationGroup", ACCESS_CONF | RSRC_CONF,
                   "Application interpreter group."),
    WSGI_DIRECTIVE("WSGICallableObject", OR_FILEINFO,
                   "Name of entry point in WSGI script file."),
    WSGI_DIRECTIVE("WSGIPassAuthorization", OR_FILEINFO,
                   "Enable/Disable WSGI authorization."),
    WSGI_DIRECTIVE("WSGIPassApacheRequest", ACCESS_CONF | RSRC_CONF,
                   "Enable/Disable Apache request object."),
    WSGI_DIRECTIVE("WSGIIgnoreActivity", OR_FILEINFO,
                   "Enable/Disable reset of inactvity timeout."),
    WSGI_DIRECTIVE("WSGIScriptReloading", OR_FILEINFO,
                   "Enable/Disable script reloading mechanism."),
    WSGI_DIRECTIVE("WSGIPythonHome", RSRC_CONF,
                   "Python prefix/exec_prefix absolute path names."),
    WSGI_DIRECTIVE("WSGIPythonPath", RSRC_CONF, "Python module search path."),
    WSGI_DIRECTIVE("WSGIPythonOptimize", RSRC_CONF,
                   "Set level of Python compiler optimisations."),
    WSGI_DIRECTIVE("WSGIDontWriteBytecode", RSRC_CONF,
                   "Enable/Disable writing of byte code."),
    WSGI_DIRECTIVE("WSGIPythonHashSeed", RSRC_CONF, "Python hash seed."),
    WSGI_DIRECTIVE("WSGIPythonWarnings", RSRC_CONF, "Control Python warning messages."),
    WSGI_DIRECTIVE("WSGIDestroyInterpreter", RSRC_CONF,
                   "Enable/Disable destruction of Python interpreter."),
    WSGI_DIRECTIVE("WSGIDaemonProcess", RSRC_CONF, "Specify details of daemon processes to start."),
    WSGI_DIRECTIVE("WSGIDispatchScript", ACCESS_CONF | RSRC_CONF,
                   "Location of WSGI dispatch script."),
    WSGI_DIRECTIVE("WSGIRestrictProcess", ACCESS_CONF | RSRC_CONF,
                   "Limit selectable WSGI process groups."),
    WSGI_DIRECTIVE("WSGISocketPrefix", RSRC_CONF, "Path prefix for the daemon process sockets."),
    WSGI_DIRECTIVE("WSGISocketRotation", RSRC_CONF, "Enable/Disable rotation of daemon process sockets."),
    WSGI_DIRECTIVE("WSGIAcceptMutex", RSRC_CONF, "Set accept mutex type for daemon processes."),
    WSGI_DIRECTIVE("WSGIVerboseDebugging", RSRC_CONF, "Enable/Disable verbose debugging messages."),
    WSGI_DIRECTIVE("WSGIPythonEggs", RSRC_CONF, "Python eggs cache directory."),
    WSGI_DIRECTIVE("WSGIPerInterpreterGIL", RSRC_CONF,
                   "Enable/Disable per-interpreter GIL for sub-interpreters (Python 3.12+)."),
    WSGI_DIRECTIVE("WSGIFreeThreading", RSRC_CONF,
                   "Enable/Disable free-threaded Python (GIL disabled) for the matched process "
                   "(Python 3.13+ free-threaded build)."),
    WSGI_DIRECTIVE("WSGISwitchInterval", RSRC_CONF,
                   "Override Python GIL switch interval (seconds)."),
    AP_INIT_RAW_ARGS("<WSGIInterpreterOptions", wsgi_shim_section, NULL, RSRC_CONF,
                     "Container for per-interpreter configuration directives."),
    WSGI_DIRECTIVE("WSGIServerMetrics", RSRC_CONF,
                   "Enabled/Disable access to server metrics."),
    WSGI_DIRECTIVE("WSGITelemetryService", RSRC_CONF,
                   "Where each process sends its telemetry (unix:/path [interval=N])."),
    WSGI_DIRECTIVE("WSGISlowRequests", RSRC_CONF,
                   "Threshold in seconds above which requests are reported as slow."),
    WSGI_DIRECTIVE("WSGITelemetryOptions", RSRC_CONF,
                   "Telemetry capture flags ([+|-]CaptureUserAgent, None, All)."),
    WSGI_DIRECTIVE("WSGIAccessScript", OR_AUTHCFG, "Location of WSGI host access script file."),
    WSGI_DIRECTIVE("WSGIAuthUserScript", OR_AUTHCFG, "Location of WSGI user auth script file."),
    WSGI_DIRECTIVE("WSGIAuthGroupScript", OR_AUTHCFG, "Location of WSGI group auth script file."),
    WSGI_DIRECTIVE("WSGIGroupAuthoritative", OR_AUTHCFG,
                   "Enable/Disable as being authoritative on groups."),
    {NULL}
};

/* The status values src/apache/shim.rs returns through the callbacks. */
_Static_assert(AUTH_DENIED == 0 && AUTH_GRANTED == 1 && AUTH_USER_FOUND == 2 &&
                   AUTH_USER_NOT_FOUND == 3 && AUTH_GENERAL_ERROR == 4,
               "authn_status values differ from src/apache/shim.rs");
_Static_assert(AUTHZ_DENIED == 0 && AUTHZ_GRANTED == 1 && AUTHZ_NEUTRAL == 2 &&
                   AUTHZ_GENERAL_ERROR == 3 && AUTHZ_DENIED_NO_USER == 4,
               "authz_status values differ from src/apache/shim.rs");

static authn_status wsgi_shim_check_password(request_rec *r, const char *user,
                                             const char *password)
{
    return (authn_status)wsgi_cb->check_password(r, user, password);
}

static authn_status wsgi_shim_get_realm_hash(request_rec *r, const char *user,
                                             const char *realm, char **rethash)
{
    return (authn_status)wsgi_cb->get_realm_hash(r, user, realm, rethash);
}

static authz_status wsgi_shim_check_authorization(request_rec *r, const char *require_args,
                                                  const void *parsed_require_line)
{
    (void)parsed_require_line;
    return (authz_status)wsgi_cb->check_authorization(r, require_args);
}

/* The `wsgi` authn provider (AuthBasicProvider/AuthDigestProvider wsgi) and
 * the `wsgi-group` authz provider (Require wsgi-group ...), as mod_wsgi. */
static const authn_provider wsgi_shim_authn_provider = {
    &wsgi_shim_check_password,
    &wsgi_shim_get_realm_hash,
};

static const authz_provider wsgi_shim_authz_provider = {
    &wsgi_shim_check_authorization,
    NULL,
};

int wsgi_shim_access_denial_logged(request_rec *r)
{
    return ap_satisfies(r) != SATISFY_ANY || !ap_some_auth_required(r);
}

/* pre_mpm's scoreboard type is not needed on the Rust side. */
static int wsgi_shim_pre_mpm(apr_pool_t *p, ap_scoreboard_e sb_type)
{
    (void)sb_type;
    return wsgi_cb->pre_mpm(p);
}

void wsgi_shim_register_hooks(apr_pool_t *p, const wsgi_shim_callbacks *callbacks)
{
    /* Same ordering constraints as mod_wsgi: translate_name after mod_alias
     * (so Alias wins over WSGIScriptAlias) and before mod_userdir. */
    static const char *const after_alias[] = {"mod_alias.c", NULL};
    static const char *const before_userdir[] = {"mod_userdir.c", "mod_vhost_alias.c", NULL};
    /* As mod_wsgi: the host access script after mod_ssl, before mod_authz_host. */
    static const char *const after_ssl[] = {"mod_ssl.c", NULL};
    static const char *const before_authz_host[] = {"mod_authz_host.c", NULL};

    wsgi_cb = callbacks;

    ap_hook_post_config(callbacks->post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* After the core's, which creates the scoreboard (as mod_wsgi). */
    ap_hook_pre_mpm(wsgi_shim_pre_mpm, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_child_init(callbacks->child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(callbacks->translate_name, after_alias, before_userdir,
                           APR_HOOK_MIDDLE);
    ap_hook_handler(callbacks->handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(callbacks->monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_access_checker(callbacks->access_checker, after_ssl, before_authz_host,
                           APR_HOOK_MIDDLE);
    ap_register_provider(p, AUTHN_PROVIDER_GROUP, "wsgi", AUTHN_PROVIDER_VERSION,
                         &wsgi_shim_authn_provider);
    ap_register_provider(p, AUTHZ_PROVIDER_GROUP, "wsgi-group", AUTHZ_PROVIDER_VERSION,
                         &wsgi_shim_authz_provider);
}

void wsgi_shim_log_error(const char *file, int line, int level, apr_status_t status,
                         const server_rec *s, const char *msg)
{
    ap_log_error_(file, line, APLOG_MODULE_INDEX, level, status, s, "%s", msg);
}

void wsgi_shim_log_rerror(const char *file, int line, int level, apr_status_t status,
                          const request_rec *r, const char *msg)
{
    ap_log_rerror_(file, line, APLOG_MODULE_INDEX, level, status, r, "%s", msg);
}

void wsgi_shim_brigade_insert_tail(apr_bucket_brigade *bb, apr_bucket *b)
{
    APR_BRIGADE_INSERT_TAIL(bb, b);
}

int wsgi_shim_brigade_empty(apr_bucket_brigade *bb)
{
    return APR_BRIGADE_EMPTY(bb);
}

apr_status_t wsgi_shim_get_client_block(request_rec *r, char *buffer, apr_size_t *len)
{
    apr_bucket_brigade *bb;
    apr_status_t rv;

    if (r->remaining < 0 || (!r->read_chunked && r->remaining == 0)) {
        *len = 0;
        return APR_SUCCESS;
    }
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ, *len);
    if (rv != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        apr_brigade_destroy(bb);
        *len = 0;
        return rv;
    }
    if (!APR_BRIGADE_EMPTY(bb) && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb))) {
        r->remaining = r->read_chunked ? -1 : 0;
    }
    rv = apr_brigade_flatten(bb, buffer, len);
    apr_brigade_destroy(bb);
    if (rv != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        *len = 0;
        return rv;
    }
    r->read_length += *len;
    return APR_SUCCESS;
}
