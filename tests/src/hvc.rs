//! The host end of the guest's virtio console (`/dev/hvc0`): a client of the socket QEMU
//! listens on ([`crate::qemu::HvcSocket`]). A reader thread collects what the guest writes;
//! [`HvcLink::expect`] waits, with a deadline, until that matches a pattern, and
//! [`HvcLink::send`] writes bytes the guest then reads.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// What the reader thread has collected.
#[derive(Default)]
struct Received {
    bytes: Vec<u8>,
    /// The connection is closed (QEMU exited).
    closed: bool,
}

struct Shared {
    received: Mutex<Received>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Received> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection to the guest's hvc0.
pub struct HvcLink {
    stream: UnixStream,
    shared: Arc<Shared>,
    /// How much of the received bytes earlier waits consumed.
    cursor: usize,
}

/// Why [`HvcLink::expect`] ended without a match: what arrived since the previous match.
#[derive(Debug)]
pub struct NoMatch {
    pub unread: Vec<u8>,
    /// The guest side is gone rather than slow.
    pub closed: bool,
}

impl HvcLink {
    /// Connects to the Unix socket at `path`, retrying until `timeout` while QEMU starts up.
    pub fn connect(path: &Path, timeout: Duration) -> io::Result<HvcLink> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(error) if Instant::now() >= deadline => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!(
                            "cannot connect to hvc0's socket {}: {error}",
                            path.display()
                        ),
                    ));
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        };
        let shared = Arc::new(Shared {
            received: Mutex::new(Received::default()),
            changed: Condvar::new(),
        });
        let mut reader = stream.try_clone()?;
        let collected = Arc::clone(&shared);
        // Ends by itself when QEMU closes the socket; nothing joins it.
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let mut received = collected.lock();
                if n == 0 {
                    received.closed = true;
                } else {
                    received.bytes.extend_from_slice(&buf[..n]);
                }
                collected.changed.notify_all();
                if n == 0 {
                    break;
                }
            }
        });
        Ok(HvcLink {
            stream,
            shared,
            cursor: 0,
        })
    }

    /// Sends `bytes` to the guest.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Waits until what the guest wrote since the previous match matches `pattern`, and
    /// consumes it through the match.
    pub fn expect(
        &mut self,
        pattern: &regex::bytes::Regex,
        timeout: Duration,
    ) -> Result<Vec<u8>, NoMatch> {
        let deadline = Instant::now() + timeout;
        let mut received = self.shared.lock();
        loop {
            let unread = &received.bytes[self.cursor..];
            if let Some(found) = pattern.find(unread) {
                let taken = unread[..found.end()].to_vec();
                self.cursor += found.end();
                return Ok(taken);
            }
            let now = Instant::now();
            if received.closed || now >= deadline {
                return Err(NoMatch {
                    unread: unread.to_vec(),
                    closed: received.closed,
                });
            }
            received = self
                .shared
                .changed
                .wait_timeout(received, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for bytes the guest wrote that no wait has consumed, and consumes
    /// them (empty when none came). For relaying the link to another client (gdb).
    pub fn take_new(&mut self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut received = self.shared.lock();
        loop {
            let now = Instant::now();
            if received.bytes.len() > self.cursor || received.closed || now >= deadline {
                let new = received.bytes[self.cursor..].to_vec();
                self.cursor = received.bytes.len();
                return new;
            }
            received = self
                .shared
                .changed
                .wait_timeout(received, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// A second handle on the connection, for a thread that writes to the guest.
    pub fn writer(&self) -> io::Result<UnixStream> {
        self.stream.try_clone()
    }

    /// Everything the guest wrote so far.
    pub fn transcript(&self) -> Vec<u8> {
        self.shared.lock().bytes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn sends_and_expects_over_a_socket() {
        let path = std::env::temp_dir().join(format!("hvc-test-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let guest = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 3];
            stream.read_exact(&mut buf).unwrap();
            stream.write_all(b"got ").unwrap();
            stream.write_all(&buf).unwrap();
            stream.write_all(b"\nrest").unwrap();
        });
        let mut link = HvcLink::connect(&path, Duration::from_secs(5)).unwrap();
        link.send(b"abc").unwrap();
        let pattern = regex::bytes::Regex::new("got abc\n").unwrap();
        assert_eq!(
            link.expect(&pattern, Duration::from_secs(5)).unwrap(),
            b"got abc\n"
        );
        guest.join().unwrap();
        let missing = regex::bytes::Regex::new("never").unwrap();
        let error = link
            .expect(&missing, Duration::from_secs(5))
            .expect_err("the guest closed");
        assert_eq!(error.unread, b"rest");
        assert!(error.closed);
        assert_eq!(link.transcript(), b"got abc\nrest");
        let _ = std::fs::remove_file(&path);
    }
}
