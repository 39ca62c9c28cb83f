//! Safe views of `request_rec`, `server_rec` and `conn_rec`: the fields the
//! module reads, the few it writes (status, handler, filename, headers), and
//! access to this module's slot in Apache's configuration vectors, typed by
//! the `unsafe` traits [`ServerSlot`] and [`DirSlot`]: the layer that stores
//! the records (`config`) implements them for its types, so safe code can
//! only read a slot as the type stored there.

use super::pool::Pool;
use super::sys;
use super::table::Table;
use std::borrow::Cow;
use std::ffi::c_void;
use std::marker::PhantomData;

/// This module's index in Apache's configuration vectors.
#[cfg(not(any(test, feature = "standalone")))]
fn module_index() -> usize {
    // SAFETY: module_index is written once by Apache at module load, before
    // any request or directive runs.
    unsafe { (*std::ptr::addr_of!(crate::wsgi_module)).module_index as usize }
}

/// Unit tests and benchmarks run outside Apache: there is no module record
/// to index.
#[cfg(any(test, feature = "standalone"))]
fn module_index() -> usize {
    0
}

/// Reads this module's entry of a configuration vector.
///
/// # Safety
/// `vector` must be a live `ap_conf_vector_t` and the entry, when set, must
/// point to a `T`.
pub unsafe fn module_config<'a, T>(vector: *mut sys::ap_conf_vector_t) -> Option<&'a T> {
    if vector.is_null() {
        return None;
    }
    // SAFETY: a configuration vector is an array of void* indexed by module.
    let slot = unsafe { *(vector as *mut *mut c_void).add(module_index()) };
    // SAFETY: the caller guarantees the entry's type.
    unsafe { (slot as *const T).as_ref() }
}

/// This module's entry of a configuration vector as a raw pointer (NULL if unset).
///
/// # Safety
/// `vector` must be a live `ap_conf_vector_t`.
pub unsafe fn module_config_ptr<T>(vector: *mut sys::ap_conf_vector_t) -> *mut T {
    if vector.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a configuration vector is an array of void* indexed by module.
    unsafe { *(vector as *mut *mut c_void).add(module_index()) as *mut T }
}

/// Sets this module's entry of a configuration vector.
///
/// # Safety
/// `vector` must be a live `ap_conf_vector_t` with room for every module.
pub unsafe fn set_module_config<T>(vector: *mut sys::ap_conf_vector_t, value: *mut T) {
    // SAFETY: see module_config.
    unsafe { *(vector as *mut *mut c_void).add(module_index()) = value as *mut c_void };
}

/// The type this module stores in its slot of every server's configuration
/// vector (`server_rec.module_config`), read by [`Server::config`].
///
/// # Safety
/// Implement it for exactly one type: the one the module record's
/// `create_server_config`/`merge_server_config` store. Every non-NULL entry
/// of this module's slot in a server's vector must point to a live `Self`
/// that lives as long as the `server_rec` (allocated from the configuration
/// pool, as the record is).
pub unsafe trait ServerSlot: Sized + 'static {}

/// The type this module stores in its slot of every per-directory
/// configuration vector (`request_rec.per_dir_config`), read by
/// [`Request::dir_config`].
///
/// # Safety
/// Implement it for exactly one type: the one the module record's
/// `create_dir_config`/`merge_dir_config` store. Every non-NULL entry of
/// this module's slot in a request's per-directory vector must point to a
/// live `Self` that lives at least as long as the request.
pub unsafe trait DirSlot: Sized + 'static {}

/// A `server_rec` (virtual host). Immutable after start-up, so shareable.
#[derive(Clone, Copy)]
pub struct Server(*mut sys::server_rec);

// SAFETY: server records are read-only once configuration is done.
unsafe impl Send for Server {}
// SAFETY: as above.
unsafe impl Sync for Server {}

impl Server {
    /// # Safety
    /// `s` must be a live server_rec for as long as this value is used.
    pub unsafe fn from_ptr(s: *mut sys::server_rec) -> Server {
        Server(s)
    }
    pub fn as_ptr(self) -> *mut sys::server_rec {
        self.0
    }
    fn rec(&self) -> &sys::server_rec {
        // SAFETY: from_ptr's contract.
        unsafe { &*self.0 }
    }
    pub fn hostname(&self) -> Cow<'_, str> {
        // SAFETY: NUL-terminated or NULL, owned by the config pool.
        unsafe { super::cstr(self.rec().server_hostname) }
    }
    pub fn port(&self) -> u16 {
        self.rec().port
    }
    pub fn admin(&self) -> Cow<'_, str> {
        // SAFETY: as hostname.
        unsafe { super::cstr(self.rec().server_admin) }
    }
    /// Apache's `Timeout` of this server, in microseconds.
    pub fn timeout_us(&self) -> i64 {
        self.rec().timeout
    }
    pub fn is_virtual(&self) -> bool {
        self.rec().is_virtual != 0
    }
    pub fn next(&self) -> Option<Server> {
        let n = self.rec().next;
        (!n.is_null()).then_some(Server(n))
    }
    /// The main server and every virtual host whose configuration record
    /// is its own: Apache shares the parent's record with a virtual host
    /// that has no directive of this module, which must not count twice.
    /// The references live as long as the records (see [`Server::config`]).
    pub fn distinct_configs<T: ServerSlot>(self) -> Vec<(Server, &'static T)> {
        let mut out: Vec<(Server, &'static T)> = Vec::new();
        let mut cur = Some(self);
        while let Some(s) = cur {
            if let Some(c) = s.config::<T>()
                && !out.iter().any(|(_, seen)| std::ptr::eq(*seen, c))
            {
                out.push((s, c));
            }
            cur = s.next();
        }
        out
    }

    /// This module's server configuration: `T` can only be the type the
    /// module stores ([`ServerSlot`]). It lives as long as the `server_rec`,
    /// for the configuration generation (which outlives every request,
    /// child and daemon process of the generation; in the parent, until a
    /// restart clears the configuration pool). `Server` has no lifetime to
    /// tie that to, hence `'static`, under `Server::from_ptr`'s contract:
    /// use it while the server is live, never keep it across a restart.
    pub fn config<T: ServerSlot>(self) -> Option<&'static T> {
        // SAFETY: `ServerSlot`'s contract: our slot of a server's vector is
        // NULL or a `T` living as long as this live server_rec.
        unsafe { module_config(self.rec().module_config) }
    }
}

/// A request being handled by this thread. Not `Send`: it must only be used
/// on the thread Apache called us on (see `wsgi::host` for the handle that
/// crosses a GIL release).
pub struct Request<'r> {
    r: *mut sys::request_rec,
    _life: PhantomData<&'r mut sys::request_rec>,
}

impl<'r> Request<'r> {
    /// # Safety
    /// `r` must be a live request_rec for `'r`, used only on this thread.
    pub unsafe fn from_ptr(r: *mut sys::request_rec) -> Request<'r> {
        Request {
            r,
            _life: PhantomData,
        }
    }
    pub fn as_ptr(&self) -> *mut sys::request_rec {
        self.r
    }
    pub(crate) fn rec(&self) -> &sys::request_rec {
        // SAFETY: from_ptr's contract.
        unsafe { &*self.r }
    }
    fn rec_mut(&mut self) -> &mut sys::request_rec {
        // SAFETY: from_ptr's contract; we are the only user on this thread.
        unsafe { &mut *self.r }
    }
    pub fn pool(&self) -> Pool {
        // SAFETY: the request pool lives as long as the request.
        unsafe { Pool::from_ptr(self.rec().pool) }
    }
    pub fn server(&self) -> Server {
        Server(self.rec().server)
    }
    pub fn conn(&self) -> &sys::conn_rec {
        // SAFETY: every request has a live connection.
        unsafe { &*self.rec().connection }
    }
    fn s(&self, p: *const std::ffi::c_char) -> Cow<'r, str> {
        // SAFETY: request strings are NUL-terminated or NULL and live in r->pool.
        unsafe { super::cstr(p) }
    }
    fn b(&self, p: *const std::ffi::c_char) -> Option<&'r [u8]> {
        // SAFETY: as `s`.
        unsafe { super::cbytes(p) }
    }
    /// The host the client asked for (Host header), if any.
    pub fn hostname(&self) -> Option<String> {
        (!self.rec().hostname.is_null()).then(|| self.s(self.rec().hostname).into_owned())
    }
    pub fn handler(&self) -> Option<Cow<'r, str>> {
        (!self.rec().handler.is_null()).then(|| self.s(self.rec().handler))
    }
    pub fn set_handler(&mut self, h: &str) {
        let v = self.pool().strdup(h);
        self.rec_mut().handler = v;
    }
    pub fn uri(&self) -> Cow<'r, str> {
        self.s(self.rec().uri)
    }
    pub fn uri_bytes(&self) -> &'r [u8] {
        self.b(self.rec().uri).unwrap_or(b"")
    }
    pub fn unparsed_uri(&self) -> Option<&'r [u8]> {
        self.b(self.rec().unparsed_uri)
    }
    pub fn method(&self) -> Option<&'r [u8]> {
        self.b(self.rec().method)
    }
    pub fn protocol(&self) -> Option<&'r [u8]> {
        self.b(self.rec().protocol)
    }
    pub fn args(&self) -> Option<&'r [u8]> {
        self.b(self.rec().args)
    }
    pub fn filename(&self) -> Option<&'r [u8]> {
        self.b(self.rec().filename)
    }
    pub fn set_filename_bytes(&mut self, f: &[u8]) {
        let v = self.pool().strdup_bytes(f) as *mut _;
        self.rec_mut().filename = v;
    }
    pub fn path_info(&self) -> Option<&'r [u8]> {
        self.b(self.rec().path_info)
    }
    pub fn user(&self) -> Option<&'r [u8]> {
        self.b(self.rec().user)
    }
    /// Sets `r->user` (a copy in the request pool), as an authn provider may.
    pub fn set_user(&mut self, user: &[u8]) {
        let v = self.pool().strdup_bytes(user) as *mut std::ffi::c_char;
        self.rec_mut().user = v;
    }
    /// The client's host as mod_wsgi's access hook asks for it
    /// (`ap_get_remote_host(..., REMOTE_HOST, ...)`: the name when
    /// `HostnameLookups` found one), else the client's address.
    pub fn remote_host(&self) -> Option<&'r [u8]> {
        // SAFETY: the request, its connection and per-directory configuration
        // are live; REMOTE_HOST (0) returns NULL or a string in the
        // connection's pool.
        let host = unsafe {
            sys::ap_get_remote_host(
                self.rec().connection,
                self.rec().per_dir_config as *mut c_void,
                0,
                std::ptr::null_mut(),
            )
        };
        self.b(host).or_else(|| self.useragent_ip())
    }
    /// Whether a refusal by an access checker is logged (not under
    /// `Satisfy Any` with authentication configured), as mod_wsgi decides.
    pub fn access_denial_logged(&self) -> bool {
        // SAFETY: the request is live for this hook.
        unsafe { super::shim::wsgi_shim_access_denial_logged(self.r) != 0 }
    }
    pub fn auth_type(&self) -> Option<&'r [u8]> {
        self.b(self.rec().ap_auth_type)
    }
    pub fn useragent_ip(&self) -> Option<&'r [u8]> {
        self.b(self.rec().useragent_ip)
    }
    pub fn log_id(&self) -> Option<&'r [u8]> {
        self.b(self.rec().log_id)
    }
    /// Request start, microseconds since the epoch.
    pub fn request_time(&self) -> i64 {
        self.rec().request_time
    }
    /// The response status set so far.
    pub fn status(&self) -> u16 {
        self.rec().status.clamp(0, 999) as u16
    }
    pub fn headers_in(&self) -> Table {
        // SAFETY: request tables live as long as the request.
        unsafe { Table::from_ptr(self.rec().headers_in) }
    }
    pub fn headers_out(&self) -> Table {
        // SAFETY: as headers_in.
        unsafe { Table::from_ptr(self.rec().headers_out) }
    }
    pub fn err_headers_out(&self) -> Table {
        // SAFETY: as headers_in.
        unsafe { Table::from_ptr(self.rec().err_headers_out) }
    }
    pub fn notes(&self) -> Table {
        // SAFETY: as headers_in.
        unsafe { Table::from_ptr(self.rec().notes) }
    }
    pub fn subprocess_env(&self) -> Table {
        // SAFETY: as headers_in.
        unsafe { Table::from_ptr(self.rec().subprocess_env) }
    }
    /// The file type Apache found at `filename` (`APR_REG`, `APR_DIR`, 0 for none).
    pub fn file_type(&self) -> u32 {
        self.rec().finfo.filetype
    }
    /// Modification time of `filename` in microseconds, 0 when unknown.
    pub fn file_mtime(&self) -> i64 {
        self.rec().finfo.mtime
    }
    pub fn used_path_info(&self) -> i32 {
        self.rec().used_path_info
    }
    /// This module's merged per-directory configuration: `T` can only be
    /// the type the module stores ([`DirSlot`]).
    pub fn dir_config<T: DirSlot>(&self) -> Option<&'r T> {
        // SAFETY: `DirSlot`'s contract: our slot of per_dir_config is NULL
        // or a `T` living at least as long as this request ('r).
        unsafe { module_config(self.rec().per_dir_config) }
    }
    /// Whether `Options ExecCGI` applies here.
    pub fn allows_exec_cgi(&self) -> bool {
        // SAFETY: live request.
        let opts = unsafe { sys::ap_allow_options(self.r) };
        opts & sys::OPT_EXECCGI as i32 != 0
    }
    /// Sets the response status and its reason line.
    pub fn set_status(&mut self, status: u16, line: &str) {
        let v = self.pool().strdup(line);
        let rec = self.rec_mut();
        rec.status = status as i32;
        rec.status_line = v;
    }
    /// `set_status` with the line as the code followed by `rest`, the
    /// application's status line after its three digits ("" for a bare
    /// code, which Apache completes with its own reason phrase; " " for an
    /// empty reason; " Reason"), written straight into the request pool.
    pub fn set_status_reason(&mut self, status: u16, rest: &[u8]) {
        let mut line = [0u8; 256];
        let code = status.to_string();
        let mut n = code.len();
        line[..n].copy_from_slice(code.as_bytes());
        let take = rest.len().min(line.len() - n);
        line[n..n + take].copy_from_slice(&rest[..take]);
        n += take;
        let v = self.pool().strdup_bytes(&line[..n]);
        let rec = self.rec_mut();
        rec.status = status as i32;
        rec.status_line = v;
    }
    pub fn set_content_type(&mut self, ct: &[u8]) {
        let v = self.pool().strdup_bytes(ct);
        // SAFETY: live request; the string lives in r->pool.
        unsafe { sys::ap_set_content_type(self.r, v) };
    }
    pub fn set_content_length(&mut self, len: i64) {
        // SAFETY: live request.
        unsafe { sys::ap_set_content_length(self.r, len) };
    }
    /// Marks the client connection as aborted so Apache closes it instead of
    /// completing the response cleanly.
    pub fn abort_connection(&mut self) {
        // SAFETY: live connection of a live request.
        unsafe { (*self.rec().connection).aborted = 1 };
    }
    pub fn is_aborted(&self) -> bool {
        self.conn().aborted != 0
    }
    pub fn document_root(&self) -> Cow<'r, str> {
        // SAFETY: live request; returns a config-pool string.
        self.s(unsafe { sys::ap_document_root(self.r) })
    }
    pub fn context_prefix(&self) -> Cow<'r, str> {
        // SAFETY: as document_root.
        self.s(unsafe { sys::ap_context_prefix(self.r) })
    }
    pub fn context_document_root(&self) -> Cow<'r, str> {
        // SAFETY: as document_root.
        self.s(unsafe { sys::ap_context_document_root(self.r) })
    }
    pub fn server_name(&self) -> Cow<'r, str> {
        // SAFETY: live request.
        self.s(unsafe { sys::ap_get_server_name(self.r) })
    }
    pub fn server_port(&self) -> u16 {
        // SAFETY: live request.
        unsafe { sys::ap_get_server_port(self.r) }
    }
    pub fn scheme(&self) -> Cow<'r, str> {
        // SAFETY: live request; returns a static or pool string.
        self.s(unsafe { sys::ap_run_http_scheme(self.r) })
    }
    /// The request this one was internally redirected from, if any.
    pub fn prev(&self) -> Option<Request<'r>> {
        let p = self.rec().prev;
        // SAFETY: a previous request of a live request lives as long as it.
        (!p.is_null()).then(|| unsafe { Request::from_ptr(p) })
    }
    /// The request line as the client sent it.
    pub fn the_request(&self) -> Option<&'r [u8]> {
        self.b(self.rec().the_request)
    }
    /// The URI of the original request line (method and protocol stripped),
    /// as Apache's `original_uri()` computes it for REQUEST_URI.
    pub fn original_uri(&self) -> Vec<u8> {
        let Some(line) = self.the_request() else {
            return self.uri_bytes().to_vec();
        };
        let start = line.iter().position(|&b| b == b' ').map_or(0, |i| i + 1);
        let rest = &line[start..];
        let rest = &rest[rest.iter().position(|&b| b != b' ').unwrap_or(rest.len())..];
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        rest[..end].to_vec()
    }
    pub fn method_number(&self) -> i32 {
        self.rec().method_number
    }
    /// True for a HEAD request (Apache sends no body).
    pub fn header_only(&self) -> bool {
        self.rec().header_only != 0
    }
    /// Whether a content-level output filter (below the protocol filters)
    /// is at the head of the output chain, e.g. mod_deflate.
    pub fn has_content_filter(&self) -> bool {
        let f = self.rec().output_filters;
        // SAFETY: the filter chain and its records live as long as the request.
        unsafe {
            !f.is_null() && !(*f).frec.is_null() && (*(*f).frec).ftype < sys::AP_FTYPE_PROTOCOL
        }
    }
    /// The request's log id (`%L`), generated now if nothing needed it yet.
    pub fn ensure_log_id(&self) -> Option<&'r [u8]> {
        if self.rec().log_id.is_null() {
            let mut id: *const std::ffi::c_char = std::ptr::null();
            // SAFETY: live request and connection, used only on this thread;
            // the hook stores a pool string, kept in r->log_id as Apache does.
            unsafe {
                sys::ap_run_generate_log_id(self.rec().connection, self.r, &mut id);
                (*self.r).log_id = id;
            }
        }
        self.b(self.rec().log_id)
    }
    /// The connection's log id, when one was generated.
    pub fn connection_log_id(&self) -> Option<&'r [u8]> {
        self.b(self.conn().log_id)
    }
    pub fn is_initial(&self) -> bool {
        // SAFETY: live request.
        unsafe { sys::ap_is_initial_req(self.r) != 0 }
    }
}

/// Request body reading and response set-up for the `wsgi-script` handler
/// and its hosts.
impl<'r> Request<'r> {
    /// The same request with its lifetime no longer tracked, for a value
    /// that must be `'static` (a host handed to the WSGI core's Exchange).
    ///
    /// # Safety
    /// The request must stay live, and be used on one thread at a time, for
    /// as long as the returned view (or anything made from it) is used.
    pub unsafe fn unbounded(&self) -> Request<'static> {
        Request {
            r: self.r,
            _life: PhantomData,
        }
    }
    /// `LimitRequestBody` for this request (0: unlimited).
    pub fn limit_req_body(&self) -> i64 {
        // SAFETY: live request.
        unsafe { sys::ap_get_limit_req_body(self.r) }
    }
    /// Sets up Apache's body reading (`ap_setup_client_block`), dechunking
    /// when `chunked`, else refusing a chunked body; 0 or an HTTP status.
    pub fn setup_client_block(&self, chunked: bool) -> std::ffi::c_int {
        let policy = if chunked {
            sys::REQUEST_CHUNKED_DECHUNK
        } else {
            sys::REQUEST_CHUNKED_ERROR
        };
        // SAFETY: live request, used only on this thread.
        unsafe { sys::ap_setup_client_block(self.r, policy as i32) }
    }
    /// Reads request body bytes through the input filters, as
    /// `ap_get_client_block` but keeping the status of a failed read (the
    /// shim's `wsgi_shim_get_client_block`): the count (0 at the end of the
    /// body), or the input filters' status (`APR_TIMEUP`: the body read
    /// timed out).
    pub fn read_client_block(&mut self, buf: &mut [u8]) -> Result<usize, sys::apr_status_t> {
        // SAFETY: the same memory seen as possibly uninitialised; the shim
        // only ever writes initialised bytes into it, so `buf` stays valid.
        let uninit = unsafe { &mut *(std::ptr::from_mut(buf) as *mut [std::mem::MaybeUninit<u8>]) };
        self.read_client_block_uninit(uninit)
    }
    /// [`Request::read_client_block`] into memory that need not be
    /// initialised: the first (returned count) bytes are on success.
    pub fn read_client_block_uninit(
        &mut self,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Result<usize, sys::apr_status_t> {
        let mut len = buf.len();
        // SAFETY: live request, used only on this thread; the shim writes at
        // most `len` (buf.len()) bytes, copied out of Apache's brigade, into
        // buf (never reads it) and sets `len` to the count.
        let rv = unsafe {
            super::shim::wsgi_shim_get_client_block(self.r, buf.as_mut_ptr().cast(), &raw mut len)
        };
        if rv == sys::APR_SUCCESS as sys::apr_status_t {
            Ok(len.min(buf.len()))
        } else {
            Err(rv)
        }
    }
    /// Stops a later first body read from sending `100 Continue` (once the
    /// response has started it would land inside it).
    pub fn clear_expecting_100(&mut self) {
        self.rec_mut().expecting_100 = 0;
    }
    /// `ap_internal_redirect_handler` to `location` as a GET without a body
    /// (mod_cgi's rules); the unread request body is discarded first when
    /// `discard_body`.
    pub fn redirect_as_get(&mut self, location: &std::ffi::CStr, discard_body: bool) {
        if discard_body {
            // SAFETY: live request, used only on this thread.
            unsafe { sys::ap_discard_request_body(self.r) };
        }
        let headers = self.headers_in();
        headers.unset("Content-Length");
        headers.unset("Transfer-Encoding");
        let rec = self.rec_mut();
        rec.method = c"GET".as_ptr();
        rec.method_number = sys::M_GET as i32;
        // SAFETY: live request; `location` is copied into r->pool, which
        // outlives the redirect.
        unsafe {
            let loc = sys::apr_pstrdup((*self.r).pool, location.as_ptr());
            sys::ap_internal_redirect_handler(loc, self.r);
        }
    }
}

/// The `Server` header's product string (`ServerTokens`), as CGI's
/// `SERVER_SOFTWARE`.
pub fn server_banner() -> Cow<'static, str> {
    // SAFETY: a static string owned by Apache.
    unsafe { super::cstr(sys::ap_get_server_banner()) }
}

/// Connection facts for the CGI variables.
impl<'r> Request<'r> {
    /// The server name for URLs (IPv6 literals bracketed).
    pub fn server_name_for_url(&self) -> Option<&'r [u8]> {
        // SAFETY: live request; returns a pool string.
        self.b(unsafe { sys::ap_get_server_name_for_url(self.r) })
    }
    /// The local address the connection arrived on.
    pub fn local_ip(&self) -> Option<&'r [u8]> {
        self.b(self.conn().local_ip)
    }
    /// The client's port, when the connection knows its address.
    pub fn remote_port(&self) -> Option<u16> {
        let a = self.conn().client_addr;
        // SAFETY: a non-NULL client address lives as long as the connection.
        (!a.is_null()).then(|| unsafe { (*a).port })
    }
    /// The listener's host name (empty when none) and port.
    pub fn listener(&self) -> Option<(&'r [u8], u16)> {
        let a = self.conn().local_addr;
        if a.is_null() {
            return None;
        }
        // SAFETY: a non-NULL local address lives as long as the connection;
        // its hostname is NULL or a NUL-terminated string it owns.
        let (host, port) = unsafe { (super::cbytes((*a).hostname), (*a).port) };
        Some((host.unwrap_or(b""), port))
    }
}
