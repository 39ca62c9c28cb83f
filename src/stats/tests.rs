//! Unit tests of the segment's slots and the reason labels.

use super::layout::{KIND_DAEMON, REASONS};
use super::segment::Segment;
use super::*;
use std::sync::atomic::Ordering;

#[test]
fn a_freed_slot_keeps_its_counts_in_its_group() {
    let seg = Segment::create(4).unwrap();
    let g = seg.name_group("web").unwrap();
    assert_eq!(seg.name_group("web"), Some(g));
    let i = seg.claim(4242, KIND_DAEMON, g, 3).unwrap();
    seg.slots()[i].counters.record(200, 1_000, 10);
    seg.slots()[i].counters.record(503, 2_000_000, 10);
    assert_eq!(seg.release(4242), Some((g, 0)));
    let rec = &seg.header().groups[g];
    assert_eq!(rec.retired.status[1].load(Ordering::Relaxed), 1);
    assert_eq!(rec.retired.status[4].load(Ordering::Relaxed), 1);
    assert_eq!(rec.retired.duration.count.load(Ordering::Relaxed), 2);
    assert_eq!(seg.slots()[i].pid.load(Ordering::Relaxed), 0);
}

#[test]
fn a_dead_owners_slot_is_reclaimed_when_full() {
    let seg = Segment::create(1).unwrap();
    // A pid that cannot exist (above pid_max).
    let dead = 0x3fff_fff0;
    assert!(seg.claim(dead, KIND_DAEMON, 0, 1).is_some());
    seg.slots()[0].counters.record(200, 5, 5);
    let me = std::process::id() as i32;
    assert_eq!(seg.claim(me, KIND_DAEMON, 0, 1), Some(0));
    assert_eq!(
        seg.header().groups[0].retired.status[1].load(Ordering::Relaxed),
        1
    );
    // Full with a live owner: nothing.
    assert_eq!(seg.claim(me, KIND_DAEMON, 0, 1), None);
}

#[test]
fn stop_texts_map_to_reason_labels() {
    let label = |why| REASONS[reason_index(why)];
    assert_eq!(label("maximum-requests reached"), "maximum-requests");
    assert_eq!(label("inactivity-timeout reached"), "inactivity-timeout");
    assert_eq!(label("SIGUSR1 (process eviction)"), "signal");
    assert_eq!(label("WSGI script changed"), "script-reload");
    assert_eq!(label("interrupt-timeout reached"), "request-timeout");
    assert_eq!(label("crash"), "crash");
    assert_eq!(label("something new"), "other");
}

#[test]
fn the_page_is_openmetrics() {
    let mut g = snapshot::GroupView {
        name: "a\"b".into(),
        ..Default::default()
    };
    g.status[1] = 3;
    g.duration.buckets[0] = 3;
    g.duration.count = 3;
    let page = openmetrics::render(&[g]);
    assert!(page.ends_with("# EOF\n"));
    assert!(
        page.contains("mod_wsgi_requests_total{process_group=\"a\\\"b\",status_class=\"2xx\"} 3")
    );
    assert!(page.contains("le=\"+Inf\"} 3"));
}

#[test]
fn a_duration_lands_in_the_first_bucket_at_or_above_it() {
    let h = layout::Histogram::default();
    for us in [5_000, 5_001, 60_000_000, 60_000_001, 0] {
        h.observe(us);
    }
    let counts: Vec<u64> = h
        .buckets
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    assert_eq!(counts[0], 2, "{counts:?}"); // 0 and 5 ms (le 0.005)
    assert_eq!(counts[1], 1, "{counts:?}"); // 5.001 ms (le 0.01)
    assert_eq!(counts[layout::BOUNDS.len() - 1], 1, "{counts:?}"); // 60 s
    assert_eq!(counts[layout::BOUNDS.len()], 1, "{counts:?}"); // +Inf
}
