//! Draining one interval of [`ProcessMetrics`] into a [`Sample`]: the
//! values `mod_wsgi.request_metrics()` returns and a telemetry `request`
//! record carries. Taking a sample starts the next interval (mod_wsgi's
//! readers share one set of baselines the same way).

use super::phase::Phase;
use super::process::{Interval, ProcessMetrics, Tick};
use super::usage::{self, Cpu};
use std::sync::atomic::Ordering;

/// One interval's metrics.
#[derive(Clone, Debug)]
pub struct Sample {
    pub pid: u32,
    pub start_us: u64,
    pub stop_us: u64,
    /// Seconds (never 0).
    pub period: f64,
    pub cpu_user: f64,
    pub cpu_system: f64,
    pub memory_rss: i64,
    pub memory_max_rss: i64,
    pub threads_max: usize,
    pub threads_started: usize,
    pub threads_active: usize,
    pub capacity_utilization: f64,
    pub request_count: u64,
    pub throughput: f64,
    pub status: [u64; 5],
    pub input_bytes: u64,
    pub input_reads: u64,
    pub output_bytes: u64,
    pub output_writes: u64,
    /// Requests recorded in the phases (the divisor of the means).
    pub requests: u64,
    /// A daemon process: the queue and daemon phases exist.
    pub has_daemon_timing: bool,
    pub phases: [Phase; 8],
    pub gil_wait_count: u64,
    /// Per request thread: completed, busy, CPU, running request's
    /// elapsed and longest request (seconds for the last four).
    pub completed: Vec<u64>,
    pub busy: Vec<f64>,
    pub cpu: Vec<f64>,
    pub current_elapsed: Vec<f64>,
    pub max_duration: Vec<f64>,
}

impl ProcessMetrics {
    /// Takes the current interval's sample and starts the next one.
    pub fn sample(&self) -> Sample {
        let cpu_now = usage::process_cpu();
        let mut iv = self.lock();
        let now = usage::now_us();
        let busy_now = self.busy_time_us(now);
        let count_now = self.total.load(Ordering::Relaxed);
        let n = self.threads_max;
        let mut s = Sample {
            pid: std::process::id(),
            start_us: iv.start_us,
            stop_us: now,
            period: (now.saturating_sub(iv.start_us) as f64 / 1e6).max(1e-6),
            cpu_user: 0.0,
            cpu_system: 0.0,
            memory_rss: usage::current_rss(),
            memory_max_rss: usage::max_rss(),
            threads_max: n,
            threads_started: self.threads_started(),
            threads_active: 0,
            capacity_utilization: 0.0,
            request_count: count_now.saturating_sub(iv.start_count),
            throughput: 0.0,
            status: iv.status,
            input_bytes: iv.input_bytes,
            input_reads: iv.input_reads,
            output_bytes: iv.output_bytes,
            output_writes: iv.output_writes,
            requests: iv.requests,
            has_daemon_timing: self.daemon,
            phases: std::mem::take(&mut iv.phases),
            gil_wait_count: iv.gil_wait_count,
            completed: vec![0; n],
            busy: vec![0.0; n],
            cpu: vec![0.0; n],
            current_elapsed: vec![0.0; n],
            max_duration: vec![0.0; n],
        };
        self.drain_ticks(&mut iv, now, &mut s);
        let cpu = Cpu {
            user: (cpu_now.user - iv.start_cpu.user).max(0.0),
            system: (cpu_now.system - iv.start_cpu.system).max(0.0),
        };
        s.cpu_user = cpu.user / s.period;
        s.cpu_system = cpu.system / s.period;
        let busy = busy_now.saturating_sub(iv.start_busy_us) as f64 / 1e6;
        s.capacity_utilization = busy / s.period / n as f64;
        s.throughput = s.request_count as f64 / s.period;
        reset(&mut iv, now, cpu_now, busy_now, count_now);
        s
    }

    fn drain_ticks(&self, iv: &mut Interval, now: u64, s: &mut Sample) {
        for (i, t) in iv.ticks.iter_mut().enumerate() {
            let start = self.slots[i].start_us.load(Ordering::Relaxed);
            let mut busy = t.busy_us;
            let mut elapsed = 0;
            if start != 0 {
                busy += now.saturating_sub(start.max(t.folded_until_us));
                elapsed = now.saturating_sub(start);
                t.folded_until_us = now;
            }
            s.completed[i] = t.completed;
            s.busy[i] = busy as f64 / 1e6;
            s.cpu[i] = t.cpu_us as f64 / 1e6;
            s.current_elapsed[i] = elapsed as f64 / 1e6;
            s.max_duration[i] = t.max_duration_us as f64 / 1e6;
            if t.completed > 0 || elapsed > 0 {
                s.threads_active += 1;
            }
            *t = Tick {
                folded_until_us: t.folded_until_us,
                ..Tick::default()
            };
        }
    }
}

fn reset(iv: &mut Interval, now: u64, cpu: Cpu, busy: u64, count: u64) {
    iv.start_us = now;
    iv.start_cpu = cpu;
    iv.start_busy_us = busy;
    iv.start_count = count;
    iv.requests = 0;
    iv.status = [0; 5];
    iv.input_bytes = 0;
    iv.input_reads = 0;
    iv.output_bytes = 0;
    iv.output_writes = 0;
    iv.gil_wait_count = 0;
}
