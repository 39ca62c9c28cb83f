//! Criterion benchmarks of the WSGP v1 codec: encoding and decoding a typical ~30-variable
//! environ, and a 16 KiB body frame (header-only vectored encode, copying encode, decode
//! from a buffer, incremental decode through `FrameBuffer`).
//!
//! Cargo.toml: `[[bench]] name = "proto_codec"`, `harness = false`. Run with
//! `cargo bench --bench proto_codec`.

use std::hint::black_box;
use std::io::{self, IoSlice};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mod_wsgi::proto::{
    Decoded, EnvironBuilder, FrameBuffer, FrameType, Limits, Message, data_header, decode_frame,
    write_all_vectored,
};

/// A realistic environ: CGI variables, request headers and `mod_wsgi.*` settings.
fn environ_pairs() -> Vec<(&'static [u8], &'static [u8])> {
    vec![
        (b"REQUEST_METHOD", b"GET"),
        (b"REQUEST_URI", b"/app/items/42?expand=owner&fields=id,name"),
        (b"SCRIPT_NAME", b"/app"),
        (b"PATH_INFO", b"/items/42"),
        (b"QUERY_STRING", b"expand=owner&fields=id,name"),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"SERVER_NAME", b"www.example.com"),
        (b"SERVER_PORT", b"443"),
        (b"SERVER_ADDR", b"192.0.2.10"),
        (b"SERVER_SOFTWARE", b"Apache/2.4.62 (Debian)"),
        (b"REMOTE_ADDR", b"198.51.100.7"),
        (b"REMOTE_PORT", b"53122"),
        (b"REQUEST_SCHEME", b"https"),
        (b"HTTPS", b"1"),
        (b"DOCUMENT_ROOT", b"/var/www/html"),
        (b"SCRIPT_FILENAME", b"/srv/app/wsgi.py"),
        (b"GATEWAY_INTERFACE", b"CGI/1.1"),
        (b"HTTP_HOST", b"www.example.com"),
        (b"HTTP_USER_AGENT", b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
        (b"HTTP_ACCEPT", b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        (b"HTTP_ACCEPT_LANGUAGE", b"en-GB,en;q=0.5"),
        (b"HTTP_ACCEPT_ENCODING", b"gzip, deflate, br"),
        (b"HTTP_COOKIE", b"sessionid=4f1c2b7e9a0d4c1fb2e3a4d5c6b7a8f9; csrftoken=Zx9YwVu8TsRq7PoNm6LkJi5HgFe4DcBa"),
        (b"HTTP_CONNECTION", b"keep-alive"),
        (b"mod_wsgi.process_group", b"example"),
        (b"mod_wsgi.application_group", b"www.example.com|/app"),
        (b"mod_wsgi.callable_object", b"application"),
        (b"mod_wsgi.request_handler", b"wsgi-script"),
        (b"mod_wsgi.script_reloading", b"1"),
        (b"mod_wsgi.request_start", b"1732612345678901"),
    ]
}

fn build_environ(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = EnvironBuilder::with_capacity(2048);
    for (k, v) in pairs {
        b.push(k, v).unwrap();
    }
    b.finish()
}

fn bench_environ(c: &mut Criterion) {
    let pairs = environ_pairs();
    let frame = build_environ(&pairs);
    let mut g = c.benchmark_group("environ_30");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("encode", |b| b.iter(|| build_environ(black_box(&pairs))));
    g.bench_function("decode_and_iterate", |b| {
        b.iter(|| {
            let Ok(Decoded::Frame(Message::Environ(list), _)) =
                decode_frame(black_box(&frame), &Limits::default())
            else {
                unreachable!()
            };
            list.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        })
    });
    g.finish();
}

fn bench_body(c: &mut Criterion) {
    let data = vec![0x5au8; 16 * 1024];
    let frame = Message::Body(&data).to_frame().unwrap();
    let mut g = c.benchmark_group("body_16k");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("encode_vectored_to_sink", |b| {
        b.iter(|| {
            let h = data_header(FrameType::Body, data.len(), false).unwrap();
            write_all_vectored(
                &mut io::sink(),
                &mut [IoSlice::new(&h), IoSlice::new(black_box(&data))],
            )
            .unwrap();
        })
    });
    let mut out = Vec::with_capacity(frame.len());
    g.bench_function("encode_copying", |b| {
        b.iter(|| {
            out.clear();
            Message::Body(black_box(&data)).encode(&mut out).unwrap();
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            let Ok(Decoded::Frame(Message::Body(d), _)) =
                decode_frame(black_box(&frame), &Limits::default())
            else {
                unreachable!()
            };
            d.len()
        })
    });
    let mut fb = FrameBuffer::new(Limits::default());
    g.bench_function("frame_buffer_feed_and_decode", |b| {
        b.iter(|| {
            fb.feed(black_box(&frame));
            match fb.next_message().unwrap() {
                Some(Message::Body(d)) => d.len(),
                _ => unreachable!(),
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_environ, bench_body);
criterion_main!(benches);
