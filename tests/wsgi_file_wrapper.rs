//! wsgi.file_wrapper against a real Apache: a real file goes out as a file
//! (Content-Length from its current offset, or the app's smaller one, also
//! with WSGIEnableSendfile On), other file-likes are read blksize at a time
//! (so no Content-Length: chunked), close() reaches the file, and
//! mod_wsgi.FileWrapper is the same type.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;

fn data() -> Vec<u8> {
    (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect()
}

fn wrapper_apache(mpm: Mpm, sendfile: bool) -> Apache {
    let b = Apache::builder(mpm);
    let app = b.app("file_wrapper.wsgi");
    std::fs::write(b.root().join("apps/data.bin"), data()).unwrap();
    let mut b = b
        .server("WSGIApplicationGroup %{GLOBAL}")
        .server(format!("WSGIScriptAlias /fw \"{}\"", app.display()));
    if sendfile {
        b = b
            .server("EnableSendfile On")
            .server("WSGIEnableSendfile On");
    }
    b.start()
}

fn real_files(mpm: Mpm, sendfile: bool) {
    let apache = wrapper_apache(mpm, sendfile);
    let data = data();
    let mut conn = apache.client().keep_alive().unwrap();
    for offset in [0usize, 1234, 300_000] {
        let r = conn
            .send(&Request::new("GET", &format!("/fw/real?{offset}")))
            .unwrap();
        assert_eq!(r.status, 200, "{r:?}");
        let expected_len = data.len() - offset;
        assert_eq!(
            r.header("Content-Length"),
            Some(expected_len.to_string().as_str()),
            "Content-Length from tell() (offset {offset}): {:?}",
            r.headers
        );
        assert!(r.body == data[offset..], "body from offset {offset}");
    }
    let r = conn
        .send(&Request::new("GET", "/fw/real-capped?1000"))
        .unwrap();
    assert_eq!(r.header("Content-Length"), Some("1000"));
    assert!(r.body == data[..1000]);
    assert!(apache.wait_for_log("file-closed", Duration::from_secs(5)));
}

fn real_files_plain(mpm: Mpm) {
    real_files(mpm, false)
}
per_mpm!(file_wrapper_real_file, real_files_plain);

#[test]
fn file_wrapper_sendfile() {
    real_files(Mpm::Event, true)
}

#[test]
fn file_wrapper_fallbacks() {
    let apache = wrapper_apache(Mpm::Event, false);
    let data = data();
    let mut conn = apache.client().keep_alive().unwrap();
    let r = conn.send(&Request::new("GET", "/fw/bytesio")).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Transfer-Encoding"),
        Some("chunked"),
        "{:?}",
        r.headers
    );
    assert!(r.body == data, "BytesIO body");
    // Something was written already: the file is read, not sent as a file.
    let r = conn.send(&Request::new("GET", "/fw/after-write")).unwrap();
    let mut expected = b"prefix-".to_vec();
    expected.extend_from_slice(&data);
    assert!(r.body == expected, "write() then file_wrapper");
    let r = conn.send(&Request::new("GET", "/fw/same-type")).unwrap();
    assert_eq!(
        r.text(),
        "True",
        "wsgi.file_wrapper is mod_wsgi.FileWrapper"
    );
}
