/* Input to bindgen: the httpd and APR headers whose items src/apache uses.
 * The allowlist in build.rs picks the subset; the output is committed as
 * src/apache/sys.rs. */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "util_filter.h"
#include "util_script.h"
#include "apr_buckets.h"
#include "apr_strings.h"
#include "apr_tables.h"
#include "apr_thread_proc.h"
#include "apr_network_io.h"
