//! Build script: finds Apache (apxs, apr-1-config) and the Python named by
//! `PYO3_PYTHON` (or, as pyo3, the `executable` of `PYO3_CONFIG_FILE`), compiles
//! the thin C shim in `apxs/shim.c`, sets the link arguments of the Apache
//! module (`-z nodelete`, rpath only for a non-system Python: the config
//! file's `lib_dir` when there is one, as pyo3 links from there) and, with the
//! `bindgen` feature, regenerates `src/apache/sys.rs` and fails if the
//! committed file has drifted.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn apxs() -> String {
    env::var("APXS").unwrap_or_else(|_| "apxs".to_string())
}

/// Include directories and preprocessor flags for httpd and APR.
fn apache_flags() -> (Vec<PathBuf>, Vec<String>) {
    let apxs = apxs();
    let include = run(&apxs, &["-q", "INCLUDEDIR"]).unwrap_or_else(|| {
        panic!(
            "mod_wsgi-rs: cannot run `{apxs} -q INCLUDEDIR`: install Apache's development \
             files (Debian/Ubuntu: apt-get install apache2-dev) or set APXS=/path/to/apxs"
        )
    });
    let mut dirs = vec![PathBuf::from(include)];
    let mut defines = Vec::new();
    let apr_config = run(&apxs, &["-q", "APR_CONFIG"]).unwrap_or_else(|| "apr-1-config".into());
    let apu_config = run(&apxs, &["-q", "APU_CONFIG"]).unwrap_or_else(|| "apu-1-config".into());
    for (tool, args) in [
        (apr_config.as_str(), &["--includes", "--cppflags"][..]),
        (apu_config.as_str(), &["--includes"][..]),
    ] {
        let flags = run(tool, args)
            .unwrap_or_else(|| panic!("mod_wsgi-rs: cannot run `{tool}`: install apache2-dev"));
        for flag in flags.split_whitespace() {
            if let Some(dir) = flag.strip_prefix("-I") {
                dirs.push(PathBuf::from(dir));
            } else if flag.starts_with("-D") {
                defines.push(flag.to_string());
            }
        }
    }
    dirs.dedup();
    (dirs, defines)
}

/// Facts about the Python we build against, from `PYO3_PYTHON` or
/// `PYO3_CONFIG_FILE`.
struct PythonInfo {
    executable: String,
    version: String,
    prefix: String,
    libdir: String,
    stdlib: String,
    /// A free-threaded build (PEP 703, `Py_GIL_DISABLED`): "1", else "0".
    gil_disabled: String,
}

/// The `key=value` lines of pyo3's `PYO3_CONFIG_FILE`, when it is set.
fn pyo3_config_file() -> Option<Vec<(String, String)>> {
    let path = env::var_os("PYO3_CONFIG_FILE")?;
    println!("cargo:rerun-if-changed={}", Path::new(&path).display());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "mod_wsgi-rs: cannot read PYO3_CONFIG_FILE {}: {e}",
            Path::new(&path).display()
        )
    });
    let pairs = text.lines().filter_map(|l| l.split_once('='));
    Some(
        pairs
            .map(|(k, v)| (k.trim().into(), v.trim().into()))
            .collect(),
    )
}

fn python_info() -> PythonInfo {
    let config = pyo3_config_file().unwrap_or_default();
    let key = |k: &str| config.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // As pyo3: a config file's interpreter wins over PYO3_PYTHON (which
    // .cargo/config.toml always sets).
    let executable = key("executable")
        .or_else(|| env::var("PYO3_PYTHON").ok())
        .unwrap_or_else(|| "python3".to_string());
    let script = "import sys, sysconfig\n\
                  print('%d.%d' % sys.version_info[:2])\n\
                  print(sys.base_prefix)\n\
                  print(sysconfig.get_config_var('LIBDIR') or '')\n\
                  print(sysconfig.get_path('stdlib'))\n\
                  print(int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))";
    let out = run(&executable, &["-c", script]).unwrap_or_else(|| {
        panic!("mod_wsgi-rs: cannot run the Python named by PYO3_PYTHON ({executable})")
    });
    let mut lines = out.lines().map(str::to_string);
    let mut next = || lines.next().unwrap_or_default();
    let mut py = PythonInfo {
        executable,
        version: next(),
        prefix: next(),
        libdir: next(),
        stdlib: next(),
        gil_disabled: next(),
    };
    // A relocated Python's sysconfig still names the prefix it was built
    // for; pyo3 links libpython from the config file's lib_dir, so the
    // rpath must name that one too.
    if let Some(dir) = key("lib_dir") {
        py.libdir = dir;
    }
    if let Some(v) = key("version").filter(|v| *v != py.version) {
        panic!(
            "mod_wsgi-rs: PYO3_CONFIG_FILE says Python {v} but {} is Python {}: pyo3 and the \
             module would disagree on the Python they embed",
            py.executable, py.version
        );
    }
    py
}

/// Whether every directory from `/` down to `path` can be searched by other
/// users (Apache children run as www-data, not as the builder).
fn readable_by_others(path: &Path) -> Result<(), PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut current = PathBuf::from("/");
    for part in path.components().skip(1) {
        current.push(part);
        match std::fs::metadata(&current) {
            Ok(meta) if meta.permissions().mode() & 0o005 == 0o005 => {}
            Ok(meta) if !meta.is_dir() && meta.permissions().mode() & 0o004 != 0 => {}
            _ => return Err(current),
        }
    }
    Ok(())
}

fn check_python(py: &PythonInfo) {
    if let Err(blocked) = readable_by_others(Path::new(&py.stdlib)) {
        let msg = format!(
            "mod_wsgi-rs: the Python at {} (stdlib {}) is not readable by other users ({} is \
             not world-searchable). Apache children and daemons run as the Apache user (www-data), \
             so every child would die with \"Could not find platform independent libraries\". \
             Build against the system Python (PYO3_PYTHON=/usr/bin/python3, with python3-dev) or a \
             Python installed outside /root; set MOD_WSGI_ALLOW_PRIVATE_PYTHON=1 to build anyway.",
            py.executable,
            py.stdlib,
            blocked.display()
        );
        if env::var_os("MOD_WSGI_ALLOW_PRIVATE_PYTHON").is_some() {
            println!("cargo:warning={msg}");
        } else {
            panic!("{msg}");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=apxs/shim.c");
    println!("cargo:rerun-if-changed=apxs/shim.h");
    println!("cargo:rerun-if-changed=src/apache/bindgen.h");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-env-changed=PYO3_CONFIG_FILE");
    println!("cargo:rerun-if-env-changed=APXS");
    println!("cargo:rerun-if-env-changed=MOD_WSGI_ALLOW_PRIVATE_PYTHON");

    let (includes, defines) = apache_flags();
    let py = python_info();
    check_python(&py);

    let mut build = cc::Build::new();
    build
        .file("apxs/shim.c")
        .flag("-fvisibility=hidden")
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-missing-field-initializers");
    for dir in &includes {
        build.include(dir);
    }
    for def in &defines {
        let def = def.trim_start_matches("-D");
        match def.split_once('=') {
            Some((k, v)) => build.define(k, Some(v)),
            None => build.define(def, None),
        };
    }
    build.compile("mod_wsgi_shim");

    // The module must never be unloaded while TLS destructors or Python
    // threads may still refer to it (foundations.md §1.4).
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    let system = py.prefix == "/usr" && py.libdir.starts_with("/usr/lib");
    if !system && !py.libdir.is_empty() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,{}", py.libdir);
    }
    println!("cargo:rustc-env=MOD_WSGI_PYTHON_VERSION={}", py.version);
    // Sub-interpreters with their own GIL (PEP 684): Python 3.12 and later
    // with a GIL (`python::interp`).
    println!("cargo::rustc-check-cfg=cfg(mod_wsgi_own_gil)");
    let (major, minor) = py
        .version
        .split_once('.')
        .map(|(a, b)| (a.parse::<u32>().unwrap_or(0), b.parse::<u32>().unwrap_or(0)))
        .unwrap_or((0, 0));
    if (major, minor) >= (3, 12) && py.gil_disabled != "1" {
        println!("cargo:rustc-cfg=mod_wsgi_own_gil");
    }
    println!(
        "cargo:rustc-env=MOD_WSGI_PYTHON_GIL_DISABLED={}",
        py.gil_disabled
    );
    println!("cargo:rustc-env=MOD_WSGI_PYTHON_PREFIX={}", py.prefix);

    #[cfg(feature = "bindgen")]
    regenerate_bindings(&includes, &defines);
}

#[cfg(feature = "bindgen")]
fn regenerate_bindings(includes: &[PathBuf], defines: &[String]) {
    let mut builder = bindgen::Builder::default()
        .header("src/apache/bindgen.h")
        .allowlist_type("request_rec|server_rec|conn_rec|process_rec|module|command_rec|cmd_parms|ap_conf_vector_t|apr_.*_t|ap_filter_t|core_dir_config|unixd_config_rec|ap_regex_t|ap_regmatch_t|scoreboard|global_score|process_score|worker_score")
        .allowlist_function(
            "ap_(getword_conf|check_cmd_context|get_module_config|set_module_config|mpm_query|get_server_banner|get_server_description|get_server_name|get_server_port|server_root_relative|pass_brigade|get_brigade|setup_client_block|should_client_block|get_client_block|discard_request_body|get_limit_req_body|allow_options|set_content_type|set_content_length|rflush|document_root|context_prefix|context_document_root|exists_config_define|state_query|get_server_built|get_server_protocol|log_error_|log_rerror_|http_scheme|run_http_scheme|default_port|escape_logitem|get_remote_host|unescape_url|pstr_[a-z]+|getparents|no2slash|make_full_path|is_initial_req|set_last_modified|update_mtime|custom_response|internal_redirect_handler|construct_url|get_useragent_host|run_generate_log_id|get_server_name_for_url|get_conn_socket|regcomp|regexec_len|regerror|regfree)|apr_(pstrdup|pstrndup|pstrcat|palloc|pcalloc|pool_cleanup_register|pool_cleanup_null|pool_userdata_get|pool_userdata_set|table_get|table_set|table_setn|table_add|table_unset|table_do|table_elts|table_make|brigade_create|brigade_cleanup|brigade_destroy|brigade_write|brigade_length|bucket_transient_create|bucket_heap_create|bucket_pool_create|bucket_eos_create|bucket_flush_create|bucket_immortal_create|time_now|os_thread_current|sockaddr_ip_get|strerror|filepath_name_get|os_file_put|brigade_insert_file|socket_timeout_get|socket_timeout_set)|ap_(add_version_component|show_mpm|get_server_built|get_server_description|log_error_|log_rerror_|set_keepalive|close_listeners)|apr_(proc_other_child_register|proc_other_child_unregister|pool_note_subprocess|pool_parent_get)|ap_(register_extra_mpm_process|run_child_status)|ap_(exists_scoreboard_image|get_scoreboard_global|get_scoreboard_process|get_scoreboard_worker_from_indexes)",
        )
        .allowlist_var("MODULE_MAGIC_.*|OK|DECLINED|DONE|HTTP_.*|APLOG_.*|AP_MPMQ_.*|RSRC_CONF|ACCESS_CONF|OR_.*|GLOBAL_ONLY|NOT_IN_.*|OPT_.*|APR_SUCCESS|APR_EOF|APR_TIMEUP|APR_HOOK_.*|REQUEST_.*|AP_REQ_.*|APR_(REG|DIR|NOFILE|LNK)|AP_SQ_.*|M_.*|APR_BLOCK_READ|APR_NONBLOCK_READ|AP_MODE_.*|AP_SERVER_(MAJORVERSION|MINORVERSION|PATCHLEVEL)_NUMBER|APR_HAS_THREADS|APR_FOPEN_READ|APR_FOPEN_SENDFILE_ENABLED|APR_OC_REASON_.*|APR_KILL_.*|ap_unixd_config|ap_conftree|DEFAULT_REL_RUNTIMEDIR|AP_MAX_REG_MATCH|AP_REG_EXTENDED|ap_scoreboard_image|SERVER_(DEAD|STARTING|READY|BUSY_[A-Z]+|CLOSING|GRACEFUL|IDLE_KILL|NUM_STATUS)|MPM_CHILD_.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false);
    for dir in includes {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }
    for def in defines {
        builder = builder.clang_arg(def.clone());
    }
    let generated = builder
        .generate()
        .expect("bindgen failed on src/apache/bindgen.h")
        .to_string();
    let header = "//! Generated by bindgen from `src/apache/bindgen.h` (the httpd/APR subset the\n\
                  //! module uses). Do not edit: `MOD_WSGI_WRITE_BINDINGS=1 cargo build --features\n\
                  //! bindgen` regenerates it; CI fails when it drifts.\n\n";
    let content = format!("{header}{generated}");
    let committed = std::fs::read_to_string("src/apache/sys.rs").unwrap_or_default();
    if env::var_os("MOD_WSGI_WRITE_BINDINGS").is_some() {
        std::fs::write("src/apache/sys.rs", &content).expect("writing src/apache/sys.rs");
    } else if committed != content {
        let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("sys.rs");
        std::fs::write(&out, &content).ok();
        panic!(
            "src/apache/sys.rs differs from fresh bindgen output ({}); regenerate with \
             MOD_WSGI_WRITE_BINDINGS=1 cargo build --features bindgen",
            out.display()
        );
    }
}
