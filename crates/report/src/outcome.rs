use std::time::Duration;

/// Why a request did not succeed. The target's failures are data: each is counted by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The TCP connect was refused (nothing listening).
    ConnectRefused,
    /// The TCP connect did not finish within the connect timeout.
    ConnectTimeout,
    /// Any other connect failure (unreachable, address in use, ...).
    Connect,
    /// The connection was reset or closed while a request was in flight.
    Reset,
    /// No complete response within the request timeout.
    Timeout,
    /// The peer answered with something that is not valid HTTP/1.1.
    Protocol,
    /// HTTP 4xx.
    Http4xx,
    /// HTTP 5xx.
    Http5xx,
    /// Anything else (kept so that nothing is silently dropped).
    Other,
    /// HTTP/2: the server sent GOAWAY with an error code, ending the connection's streams.
    GoAway,
    /// HTTP/2: the server reset the request's stream (RST_STREAM).
    StreamReset,
    /// HTTP/2: the request timed out with its body still waiting for the server's
    /// flow-control window (the stream was open, its headers sent).
    FlowStalled,
}

impl ErrorClass {
    /// In the order of timeseries.csv's columns: later classes are appended.
    pub const ALL: [ErrorClass; 12] = [
        ErrorClass::ConnectRefused,
        ErrorClass::ConnectTimeout,
        ErrorClass::Connect,
        ErrorClass::Reset,
        ErrorClass::Timeout,
        ErrorClass::Protocol,
        ErrorClass::Http4xx,
        ErrorClass::Http5xx,
        ErrorClass::Other,
        ErrorClass::GoAway,
        ErrorClass::StreamReset,
        ErrorClass::FlowStalled,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// The stable snake_case name used in summary.json and timeseries.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::ConnectRefused => "connect_refused",
            ErrorClass::ConnectTimeout => "connect_timeout",
            ErrorClass::Connect => "connect_error",
            ErrorClass::Reset => "reset",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Http4xx => "http_4xx",
            ErrorClass::Http5xx => "http_5xx",
            ErrorClass::Other => "other",
            ErrorClass::GoAway => "h2_goaway",
            ErrorClass::StreamReset => "h2_rst_stream",
            ErrorClass::FlowStalled => "h2_flow_stalled",
        }
    }

    /// The class named `name` by [`ErrorClass::as_str`], e.g. read back from summary.json.
    pub fn from_name(name: &str) -> Option<ErrorClass> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How one request ended, as the recorder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response with this status (any status: 4xx/5xx become errors of their class).
    Response(u16),
    /// No usable response.
    Failed(ErrorClass),
}

/// Whether `status` is a final answer this client can take: 2xx to 5xx. einv-load never
/// asks for an upgrade nor sends `Expect: 100-continue`, so a final 1xx (an unsolicited
/// 101) is a protocol error, and so is a status outside 100..=599 (HTTP/1.1 parsers read
/// any three digits).
pub fn is_final_status(status: u16) -> bool {
    (200..600).contains(&status)
}

impl Outcome {
    /// The error class, if the request counts as an error.
    pub fn error(self) -> Option<ErrorClass> {
        match self {
            Outcome::Response(s) if !is_final_status(s) => Some(ErrorClass::Protocol),
            Outcome::Response(s) if (400..500).contains(&s) => Some(ErrorClass::Http4xx),
            Outcome::Response(s) if s >= 500 => Some(ErrorClass::Http5xx),
            Outcome::Response(_) => None,
            Outcome::Failed(class) => Some(class),
        }
    }

    /// Whether the latency of this request is meaningful: a response arrived, or the
    /// request or its connect timed out (its latency is then at least the timeout; leaving
    /// it out would flatter the percentiles). Refused connects and resets are counted, not
    /// timed.
    pub fn is_timed(self) -> bool {
        use ErrorClass::{ConnectTimeout, FlowStalled, Timeout};
        matches!(self, Outcome::Response(_) | Outcome::Failed(Timeout | ConnectTimeout | FlowStalled))
    }
}

/// One finished request, measured by the engine.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// From the request's intended send time to the end of its response (CO-corrected).
    pub latency: Duration,
    /// From the actual send to the end of the response (what a closed-loop tool reports);
    /// `None` when the request never left (it expired waiting for a connection).
    pub service: Option<Duration>,
    /// Actual send minus intended send (for a request that never left: how long it waited).
    pub send_lag: Duration,
    pub outcome: Outcome,
    /// The request found no free connection and waited for one.
    pub queued: bool,
    /// A response came but failed the op's checks (status set, JSON fields): the index of
    /// the check it failed first, among its op's (the engine names them, see
    /// [`crate::Finish::checks`]).
    pub failed_check: Option<u16>,
    /// Sent wrong on purpose: the index of its tag (duplicate, invalid ...), see
    /// [`crate::Finish::tags`].
    pub tag: Option<usize>,
    /// Sent invalid on purpose: a 4xx is the right answer, so it counts as ok (and any
    /// other answer as a failed check), not as an error.
    pub expects_rejection: bool,
    /// Where the time went inside the request (live runs only).
    pub phases: Phases,
}

/// The phases of one request that the driver can time. Each is `None` when the phase did
/// not happen (a reused connection has no connect) or was not reached (no response head).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phases {
    /// TCP connect, for a request that opened a new connection.
    pub connect: Option<Duration>,
    /// TLS handshake, from the end of the TCP connect to the end of the handshake, for a
    /// request that opened a new TLS connection.
    pub tls: Option<Duration>,
    /// Time to first byte: from handing the written request to the connection until the
    /// response head arrived.
    pub ttfb: Option<Duration>,
}

/// How the target answered requests sent wrong on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagCounts {
    pub sent: u64,
    /// 2xx/3xx: taken as valid.
    pub accepted: u64,
    /// 4xx: refused.
    pub rejected: u64,
    /// 5xx.
    pub server_error: u64,
    /// No response.
    pub failed: u64,
}

impl TagCounts {
    pub fn record(&mut self, outcome: Outcome) {
        self.sent += 1;
        match outcome.error() {
            None => self.accepted += 1,
            Some(ErrorClass::Http4xx) => self.rejected += 1,
            Some(ErrorClass::Http5xx) => self.server_error += 1,
            Some(_) => self.failed += 1,
        }
    }

    pub fn merge(&mut self, o: &TagCounts) {
        self.sent += o.sent;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.server_error += o.server_error;
        self.failed += o.failed;
    }
}

/// Error counts indexed by [`ErrorClass`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorCounts([u64; ErrorClass::COUNT]);

impl ErrorCounts {
    pub fn add(&mut self, class: ErrorClass, n: u64) {
        self.0[class.index()] += n;
    }

    pub fn get(&self, class: ErrorClass) -> u64 {
        self.0[class.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn merge(&mut self, other: &ErrorCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Non-zero classes with their counts, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (ErrorClass, u64)> + '_ {
        ErrorClass::ALL.into_iter().map(|c| (c, self.get(c))).filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
impl Sample {
    /// A request answered `status` after `ms`, sent on time (tests' plain request).
    pub(crate) fn answered(ms: u64, status: u16) -> Sample {
        Sample {
            latency: Duration::from_millis(ms),
            service: Some(Duration::from_millis(ms)),
            send_lag: Duration::ZERO,
            outcome: Outcome::Response(status),
            queued: false,
            failed_check: None,
            tag: None,
            expects_rejection: false,
            phases: Phases::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(Outcome::Response(200).error(), None);
        assert_eq!(Outcome::Response(302).error(), None);
        assert_eq!(Outcome::Response(404).error(), Some(ErrorClass::Http4xx));
        assert_eq!(Outcome::Response(503).error(), Some(ErrorClass::Http5xx));
        assert_eq!(Outcome::Response(599).error(), Some(ErrorClass::Http5xx));
        assert_eq!(Outcome::Response(204).error(), None);
        assert!(Outcome::Failed(ErrorClass::Timeout).is_timed());
        assert!(Outcome::Failed(ErrorClass::ConnectTimeout).is_timed());
        assert!(!Outcome::Failed(ErrorClass::ConnectRefused).is_timed());
    }

    /// A status code no HTTP server sends as a final answer is not a server error, and an
    /// unsolicited 101 (this client never asks to switch protocols) is not a success.
    #[test]
    fn statuses_that_are_no_final_answer_are_protocol_errors() {
        for status in [101, 100, 199, 600, 999, 0, 99] {
            assert_eq!(Outcome::Response(status).error(), Some(ErrorClass::Protocol), "{status}");
        }
        let mut tags = TagCounts::default();
        tags.record(Outcome::Response(101));
        tags.record(Outcome::Response(999));
        assert_eq!((tags.sent, tags.accepted, tags.server_error, tags.failed), (2, 0, 0, 2));
    }
}
