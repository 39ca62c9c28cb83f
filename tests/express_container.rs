//! Tests of the container example (examples/docker) without a container engine: the
//! commands the Dockerfile runs — `express-setup.sh` at build time and `entrypoint.sh`
//! at run time — run here directly as an unprivileged user (created with useradd when
//! the tests run as root, else the current user), with `mod_wsgi-express` on PATH and
//! the module beside it as in the image. Checks: Apache and the app run as that user,
//! the run-time `$PORT` wins over the build-time one, the access log reaches stdout and
//! no log file is written, and SIGTERM (docker stop) stops everything.

mod common;

use common::*;
use nix::unistd::{Uid, User};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const USER: &str = "mwe-container";

fn example(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/docker")
        .join(file)
}

/// The unprivileged user: created if missing when root, else the current user.
fn run_user() -> User {
    if !Uid::current().is_root() {
        return User::from_uid(Uid::current()).unwrap().unwrap();
    }
    if User::from_name(USER).unwrap().is_none() {
        let out = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home"])
            .args(["--shell", "/usr/sbin/nologin", USER])
            .output()
            .unwrap();
        // A concurrent test may have created it meanwhile.
        assert!(
            out.status.success() || User::from_name(USER).unwrap().is_some(),
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    User::from_name(USER).unwrap().unwrap()
}

/// The command line running `script` as `user` with exactly the environment `env`
/// (setpriv execs, so the PID is the script's; `env -i` when not root).
fn as_user(user: &User, script: &Path, env: &[String]) -> Vec<String> {
    let mut words: Vec<String> = if Uid::current().is_root() {
        let (uid, gid) = (user.uid.to_string(), user.gid.to_string());
        ["setpriv", "--reuid", &uid, "--regid", &gid, "--init-groups"]
            .iter()
            .map(|s| s.to_string())
            .chain(["--reset-env".into(), "env".into(), "-i".into()])
            .collect()
    } else {
        vec!["env".into(), "-i".into()]
    };
    words.extend(env.iter().cloned());
    words.push(path_str(script));
    words
}

fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn dockerfile_setup_and_start_commands_run_unprivileged() {
    apache_and_module();
    let dockerfile = std::fs::read_to_string(example("Dockerfile")).unwrap();
    for line in [
        "USER app",
        "ENV APP_DIR=/app EXPRESS_ROOT=/app/.express PORT=8080 PYTHONUNBUFFERED=1",
        "RUN /app/express-setup.sh",
        "CMD [\"/app/entrypoint.sh\"]",
    ] {
        assert!(
            dockerfile.lines().any(|l| l == line),
            "Dockerfile no longer has {line:?}: update this test"
        );
    }

    let user = run_user();
    let dir = scratch();
    // The image: mod_wsgi-express on PATH with the module it finds.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(EXPRESS_EXE, bin.join("mod_wsgi-express")).unwrap();
    std::fs::copy(module_under_test(), bin.join("libmod_wsgi.so")).unwrap();
    // The application directory, owned by the user (COPY --chown=app:app).
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    for file in ["app.wsgi", "express-setup.sh", "entrypoint.sh"] {
        std::fs::copy(example(file), app.join(file)).unwrap();
    }
    open_up(dir.path());
    for script in ["express-setup.sh", "entrypoint.sh"] {
        std::fs::set_permissions(app.join(script), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    nix::unistd::chown(&app, Some(user.uid), Some(user.gid)).ok();
    for entry in std::fs::read_dir(&app).unwrap() {
        nix::unistd::chown(&entry.unwrap().path(), Some(user.uid), Some(user.gid)).ok();
    }
    let root = app.join(".express");
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        bin.display()
    );
    let (build_port, run_port) = (free_port(), free_port());
    let env = |port: u16| {
        vec![
            format!("PATH={path}"),
            format!("APP_DIR={}", app.display()),
            format!("EXPRESS_ROOT={}", root.display()),
            format!("PORT={port}"),
            "PYTHONUNBUFFERED=1".to_string(),
        ]
    };

    // Build time: RUN /app/express-setup.sh (as USER app).
    let words = as_user(&user, &app.join("express-setup.sh"), &env(build_port));
    let out = Command::new(&words[0]).args(&words[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "express-setup.sh: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let apachectl = std::fs::read_to_string(root.join("apachectl")).unwrap();
    assert!(apachectl.contains(&format!("MOD_WSGI_HTTP_PORT='{build_port}'")));

    // Run time: CMD ["/app/entrypoint.sh"] with a different $PORT.
    let words = as_user(&user, &app.join("entrypoint.sh"), &env(run_port));
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let mut server = ExpressServer::spawn(&words[0], &args, &[], dir.path(), &root);
    server.wait_listening(run_port);

    let r = get_localhost(run_port, "/");
    assert_eq!(r.status_line(), "HTTP/1.1 200 OK", "{}", server.logs());
    let expected = format!("Hello from mod_wsgi-rs in a container (uid {})\n", user.uid);
    assert_eq!(r.text(), expected);
    let pid = server.child.id();
    assert_eq!(
        uid_of(pid),
        user.uid.as_raw(),
        "Apache's parent must not be root"
    );
    // The access log line reaches stdout (the output file), the error log no file.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = std::fs::read_to_string(&server.output).unwrap();
        if out.contains("\"GET / HTTP/1.1\" 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no access log line on stdout:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !root.join("error_log").exists(),
        "logs must go to the terminal"
    );
    assert!(
        !root.join("access_log").exists(),
        "logs must go to the terminal"
    );

    // docker stop: SIGTERM to PID 1 (panics unless it stops within 20 s).
    server.stop_with(libc::SIGTERM);
    assert!(std::net::TcpStream::connect(("127.0.0.1", run_port)).is_err());
}
