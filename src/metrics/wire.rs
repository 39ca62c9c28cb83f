//! The telemetry wire format of mod_wsgi 6 and the `mod-wsgi-telemetry`
//! 1.1 package: a 24-byte little-endian header (`WSGI`, version 1, kind,
//! flags 0, pid, sequence number, stamp as f64 seconds) followed by TLV
//! records (u16 field id, u8 type, for arrays and bytes a u16 length, then
//! the value). This file has the encoder and the kinds and field ids this
//! module sends; the package's `wire.py` is the decoder.

/// Record kinds.
pub const KIND_REQUEST: u8 = 2;
pub const KIND_SLOW_REQUEST: u8 = 4;
pub const KIND_STARTED: u8 = 5;
pub const KIND_STOPPING: u8 = 6;
pub const KIND_STOPPED: u8 = 7;

const VERSION: u8 = 1;
const T_U64: u8 = 0x01;
const T_F64: u8 = 0x02;
const T_BYTES: u8 = 0x04;
const T_I32_ARRAY: u8 = 0x05;
const T_F64_ARRAY: u8 = 0x06;

/// Field ids (the package's `FIELDS` table).
pub mod f {
    pub const MOD_WSGI_VERSION: u16 = 1;
    pub const PYTHON_VERSION: u16 = 2;
    pub const APACHE_VERSION: u16 = 3;
    pub const MPM_NAME: u16 = 4;
    pub const HOSTNAME: u16 = 5;
    pub const PROCESS_GROUP: u16 = 6;
    pub const PARENT_PID: u16 = 7;
    pub const SAMPLE_PERIOD: u16 = 10;
    pub const TELEMETRY_INTERVAL: u16 = 11;
    pub const SLOW_REQUESTS_THRESHOLD: u16 = 12;
    pub const REQUEST_COUNT: u16 = 20;
    pub const REQUEST_THROUGHPUT: u16 = 21;
    pub const CAPACITY_UTILIZATION: u16 = 22;
    pub const CPU_USER_UTILIZATION: u16 = 30;
    pub const CPU_SYSTEM_UTILIZATION: u16 = 31;
    pub const CPU_UTILIZATION: u16 = 32;
    pub const MEMORY_RSS: u16 = 40;
    pub const MEMORY_MAX_RSS: u16 = 41;
    pub const THREADS_MAXIMUM: u16 = 50;
    pub const THREADS_STARTED: u16 = 51;
    pub const THREADS_ACTIVE: u16 = 52;
    /// Phase means start here (server_time 60 ... output_write_time 67);
    /// minimums at +10, maximums at +20, histograms at +30.
    pub const PHASE_MEANS: u16 = 60;
    pub const INPUT_BYTES: u16 = 100;
    pub const INPUT_READS: u16 = 101;
    pub const OUTPUT_BYTES: u16 = 102;
    pub const OUTPUT_WRITES: u16 = 103;
    pub const THREADS_COMPLETED: u16 = 110;
    pub const THREADS_BUSY_TIME: u16 = 111;
    pub const THREADS_CPU_TIME: u16 = 112;
    pub const THREADS_CURRENT_ELAPSED: u16 = 113;
    pub const THREADS_MAX_DURATION: u16 = 114;
    /// status_1xx_total; 2xx..5xx follow.
    pub const STATUS_1XX: u16 = 120;
    pub const SHUTDOWN_REASON: u16 = 130;
    pub const PROCESS_UPTIME: u16 = 131;
    pub const LIFETIME_REQUEST_COUNT: u16 = 132;
    pub const ACTIVE_AT_DECISION: u16 = 133;
    pub const ACTIVE_AT_EXIT: u16 = 134;
    pub const GRACEFUL_DRAIN: u16 = 135;
    pub const SLOW_STATE: u16 = 200;
    pub const SLOW_START_STAMP: u16 = 201;
    pub const SLOW_DURATION: u16 = 202;
    pub const SLOW_THREAD_ID: u16 = 203;
    pub const SLOW_LOG_ID: u16 = 204;
    pub const SLOW_SERVER_PID: u16 = 205;
    pub const SLOW_METHOD: u16 = 210;
    pub const SLOW_SCHEME: u16 = 211;
    pub const SLOW_HOSTNAME: u16 = 212;
    pub const SLOW_SCRIPT_NAME: u16 = 213;
    pub const SLOW_PATH_INFO: u16 = 214;
    pub const SLOW_PROTOCOL: u16 = 215;
    pub const SLOW_PEER_IP: u16 = 216;
    pub const SLOW_USER_AGENT: u16 = 217;
    pub const SLOW_SERVER_TIME: u16 = 220;
    pub const SLOW_QUEUE_TIME: u16 = 221;
    pub const SLOW_DAEMON_TIME: u16 = 222;
    pub const SLOW_APPLICATION_TIME: u16 = 223;
    pub const SLOW_INPUT_BYTES: u16 = 230;
    pub const SLOW_INPUT_READS: u16 = 231;
    pub const SLOW_OUTPUT_BYTES: u16 = 232;
    pub const SLOW_OUTPUT_WRITES: u16 = 233;
    pub const SLOW_INPUT_READ_TIME: u16 = 234;
    pub const SLOW_OUTPUT_WRITE_TIME: u16 = 235;
    pub const SLOW_STATUS: u16 = 240;
    pub const SLOW_CPU_USER_TIME: u16 = 250;
    pub const SLOW_CPU_SYSTEM_TIME: u16 = 251;
    pub const SLOW_ACTIVE_AT_START: u16 = 260;
    pub const SLOW_ACTIVE_AT_COMPLETION: u16 = 261;
}

/// One datagram being built.
pub struct Datagram(Vec<u8>);

impl Datagram {
    /// Starts a datagram of `kind` from process `pid`.
    pub fn new(kind: u8, pid: u32, seq: u32, stamp: f64) -> Datagram {
        let mut b = Vec::with_capacity(4096);
        b.extend_from_slice(b"WSGI");
        b.push(VERSION);
        b.push(kind);
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&pid.to_le_bytes());
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&stamp.to_le_bytes());
        Datagram(b)
    }

    fn tag(&mut self, id: u16, t: u8) {
        self.0.extend_from_slice(&id.to_le_bytes());
        self.0.push(t);
    }

    pub fn u64(&mut self, id: u16, v: u64) -> &mut Self {
        self.tag(id, T_U64);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn f64(&mut self, id: u16, v: f64) -> &mut Self {
        self.tag(id, T_F64);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A string, cut to the u16 length limit; omitted when empty (as
    /// mod_wsgi does).
    pub fn str(&mut self, id: u16, v: &str) -> &mut Self {
        if v.is_empty() {
            return self;
        }
        let b = &v.as_bytes()[..v.len().min(u16::MAX as usize)];
        self.tag(id, T_BYTES);
        self.0.extend_from_slice(&(b.len() as u16).to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }

    pub fn i32s(&mut self, id: u16, v: impl ExactSizeIterator<Item = i32>) -> &mut Self {
        self.tag(id, T_I32_ARRAY);
        self.0
            .extend_from_slice(&(v.len().min(u16::MAX as usize) as u16).to_le_bytes());
        for x in v.take(u16::MAX as usize) {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self
    }

    pub fn f64s(&mut self, id: u16, v: &[f64]) -> &mut Self {
        let v = &v[..v.len().min(u16::MAX as usize)];
        self.tag(id, T_F64_ARRAY);
        self.0.extend_from_slice(&(v.len() as u16).to_le_bytes());
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
        self
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_records_have_the_package_layout() {
        let mut d = Datagram::new(KIND_REQUEST, 7, 3, 1.5);
        d.u64(f::REQUEST_COUNT, 9)
            .str(f::HOSTNAME, "h")
            .str(f::PROCESS_GROUP, "")
            .i32s(f::THREADS_COMPLETED, [1, 2].into_iter())
            .f64s(f::THREADS_BUSY_TIME, &[0.5]);
        let b = d.bytes();
        assert_eq!(&b[..4], b"WSGI");
        assert_eq!((b[4], b[5]), (1, KIND_REQUEST));
        assert_eq!(&b[8..12], &7u32.to_le_bytes());
        assert_eq!(&b[12..16], &3u32.to_le_bytes());
        assert_eq!(&b[16..24], &1.5f64.to_le_bytes());
        assert_eq!(&b[24..27], &[20, 0, T_U64]);
        assert_eq!(&b[27..35], &9u64.to_le_bytes());
        assert_eq!(&b[35..41], &[5, 0, T_BYTES, 1, 0, b'h']);
        assert_eq!(&b[41..46], &[110, 0, T_I32_ARRAY, 2, 0]);
        assert_eq!(b.len(), 46 + 8 + 5 + 8);
    }
}
