/* The C side of mod_wsgi-rs: only what cannot be written in Rust because it
 * is made of macros (the command table, hook registration with predecessor
 * arrays, module-tagged logging, brigade and bucket macros). Every function
 * here forwards to, or is called from, src/apache/shim.rs. */
#ifndef MOD_WSGI_RS_SHIM_H
#define MOD_WSGI_RS_SHIM_H

#include "httpd.h"
#include "http_config.h"
#include "apr_buckets.h"

/* Rust entry points, handed over once from register_hooks. */
typedef struct wsgi_shim_callbacks {
    const char *(*directive)(cmd_parms *cmd, void *mconfig, const char *args);
    int (*post_config)(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
    int (*pre_mpm)(apr_pool_t *p);
    void (*child_init)(apr_pool_t *pchild, server_rec *s);
    int (*translate_name)(request_rec *r);
    int (*handler)(request_rec *r);
    int (*monitor)(apr_pool_t *p, server_rec *s);
    /* Auth (src/auth): the access_checker hook and the two providers. The
     * provider callbacks return the values of mod_auth.h's authn_status and
     * authz_status (shim.c checks that they agree with src/apache/shim.rs). */
    int (*access_checker)(request_rec *r);
    int (*check_password)(request_rec *r, const char *user, const char *password);
    int (*get_realm_hash)(request_rec *r, const char *user, const char *realm,
                          char **rethash);
    int (*check_authorization)(request_rec *r, const char *require_args);
} wsgi_shim_callbacks;

/* The command table; referenced by the module record in src/lib.rs. */
extern const command_rec wsgi_shim_command_table[];
void wsgi_shim_register_hooks(apr_pool_t *p, const wsgi_shim_callbacks *callbacks);

void wsgi_shim_log_error(const char *file, int line, int level, apr_status_t status,
                         const server_rec *s, const char *msg);
void wsgi_shim_log_rerror(const char *file, int line, int level, apr_status_t status,
                          const request_rec *r, const char *msg);

void wsgi_shim_brigade_insert_tail(apr_bucket_brigade *bb, apr_bucket *b);
int wsgi_shim_brigade_empty(apr_bucket_brigade *bb);

/* ap_get_client_block without losing why a read failed: at most *len body
 * bytes into buffer, *len set to the count (0 at the end of the body);
 * APR_SUCCESS, or the input filters' status (APR_TIMEUP when Timeout or
 * mod_reqtimeout cut the body), the connection then not kept alive. */
apr_status_t wsgi_shim_get_client_block(request_rec *r, char *buffer, apr_size_t *len);

/* Whether a refusal by the access checker is logged (as mod_wsgi: unless
 * `Satisfy Any` lets authentication still admit the request). */
int wsgi_shim_access_denial_logged(request_rec *r);

#endif
