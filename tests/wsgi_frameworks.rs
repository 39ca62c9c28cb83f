//! Real frameworks end to end against a real Apache (Debian's python3-django
//! and python3-flask for /usr/bin/python3; these tests do not skip): the
//! Django admin login with its CSRF token and session cookie, static files
//! served by Apache through Alias next to the WSGIScriptAlias mount; and a
//! Flask app receiving a multipart/form-data file upload.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

fn manage(project: &Path, args: &[&str]) {
    let out = Command::new("/usr/bin/python3")
        .arg(project.join("manage.py"))
        .args(args)
        .current_dir(project)
        .env_remove("PYTHONPATH")
        .output()
        .expect("run /usr/bin/python3 manage.py");
    assert!(
        out.status.success(),
        "manage.py {args:?} failed (is python3-django installed for /usr/bin/python3?):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name=value` of every Set-Cookie, as a Cookie header value.
fn cookies(r: &Response, jar: &mut Vec<(String, String)>) {
    for c in r.headers_all("Set-Cookie") {
        let pair = c.split(';').next().unwrap_or("");
        if let Some((k, v)) = pair.split_once('=') {
            jar.retain(|(n, _)| n != k);
            jar.push((k.trim().to_string(), v.to_string()));
        }
    }
}

fn cookie_header(jar: &[(String, String)]) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn csrf_from_form(html: &str) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF token in the login form:\n{html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

fn django(mpm: Mpm) {
    let b = Apache::builder(mpm);
    let project = b.app("djsite");
    let db = project.join("db");
    std::fs::create_dir_all(&db).unwrap();
    manage(&project, &["migrate", "--noinput", "-v", "0"]);
    manage(
        &project,
        &[
            "shell",
            "-c",
            "from django.contrib.auth.models import User; \
             User.objects.create_superuser('admin', 'admin@example.invalid', 'harness-pw-1')",
        ],
    );
    manage(&project, &["collectstatic", "--noinput", "-v", "0"]);
    // The Apache user writes the session table.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        db.join("db.sqlite3"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let apache = b
        .server(format!("Alias /static/ \"{}/static/\"", project.display()))
        .server(format!(
            "WSGIScriptAlias / \"{}/djsite/wsgi.py\"",
            project.display()
        ))
        .server("WSGIApplicationGroup %{GLOBAL}")
        .start();
    let client = apache.client();
    let mut jar = Vec::new();

    let r = apache.get("/admin/login/?next=/admin/");
    assert_eq!(r.status, 200, "login page: {}", apache.error_log());
    cookies(&r, &mut jar);
    assert!(jar.iter().any(|(k, _)| k == "csrftoken"), "{:?}", r.headers);
    let token = csrf_from_form(&r.text());

    // Without the CSRF token: Django refuses.
    let r = client
        .send(
            &Request::new("POST", "/admin/login/?next=/admin/")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Cookie", &cookie_header(&jar))
                .body(&b"username=admin&password=harness-pw-1"[..]),
        )
        .unwrap();
    assert_eq!(r.status, 403, "CSRF must be enforced");

    let form = format!(
        "csrfmiddlewaretoken={token}&username=admin&password=harness-pw-1&next=%2Fadmin%2F"
    );
    let r = client
        .send(
            &Request::new("POST", "/admin/login/?next=/admin/")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Cookie", &cookie_header(&jar))
                .body(form.into_bytes()),
        )
        .unwrap();
    assert_eq!(r.status, 302, "login: {r:?}\n{}", apache.error_log());
    assert_eq!(r.header("Location"), Some("/admin/"));
    cookies(&r, &mut jar);
    assert!(jar.iter().any(|(k, _)| k == "sessionid"), "{:?}", r.headers);

    let r = client
        .send(&Request::new("GET", "/admin/").header("Cookie", &cookie_header(&jar)))
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().contains("Site administration"), "{}", r.text());

    // Static files through Apache's Alias, not the WSGI app.
    let r = apache.get("/static/admin/css/base.css");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("Content-Type")
            .unwrap_or("")
            .starts_with("text/css")
    );
    assert!(r.text().contains("body"), "css body");
}
per_mpm!(django_admin_login_and_static, django);

fn multipart(boundary: &str, note: &str, filename: &str, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{note}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(data);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

fn flask_upload(mpm: Mpm) {
    let b = Apache::builder(mpm);
    let app = b.app("flask_upload.wsgi");
    let apache = b
        .server(format!("WSGIScriptAlias /f \"{}\"", app.display()))
        .start();
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    let boundary = "harness-boundary-7d1f";
    let body = multipart(boundary, "hello upload", "blob.bin", &data);
    let r = apache
        .client()
        .send(
            &Request::new("POST", "/f/upload")
                .header(
                    "Content-Type",
                    &format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
        .unwrap();
    assert_eq!(r.status, 200, "{r:?}\n{}", apache.error_log());
    let kv = parse_kv(&r.text());
    assert_eq!(kv["note"], "hello upload");
    assert_eq!(kv["filename"], "blob.bin");
    assert_eq!(kv["size"], data.len().to_string());
    let crc = {
        let mut h = !0u32;
        for &b in &data {
            h ^= b as u32;
            for _ in 0..8 {
                h = if h & 1 != 0 {
                    0xEDB8_8320 ^ (h >> 1)
                } else {
                    h >> 1
                };
            }
        }
        !h
    };
    assert_eq!(kv["crc"], crc.to_string(), "file content corrupted");
}
per_mpm!(flask_multipart_upload, flask_upload);
