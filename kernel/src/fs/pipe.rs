//! Pipes (Linux: `fs/pipe.c`): a byte ring between writers and readers. Reads sleep while the
//! ring is empty and writers remain, and end (0) when the last writer is gone; writes sleep
//! while it is full, and fail with `EPIPE` (the caller adds `SIGPIPE`) when no reader is left.
//! A write of at most [`PIPE_BUF`] bytes is atomic; larger ones may be split and are partial
//! when a signal or `O_NONBLOCK` stops them after some bytes went in.

use super::Errno;
use alloc::vec::Vec;

/// Writes up to this size go in whole or not at all (Linux's `PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;
/// The ring's size (Linux's default pipe size: 16 pages).
pub const PIPE_SIZE: usize = 65536;

/// A fixed-size byte ring.
pub struct Ring {
    buf: Vec<u8>,
    head: usize,
    len: usize,
}

impl Ring {
    /// A ring of `capacity` bytes: `ENOMEM` if they cannot be allocated.
    pub fn with_capacity(capacity: usize) -> Result<Self, Errno> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(capacity).map_err(|_| Errno::ENOMEM)?;
        buf.resize(capacity, 0);
        Ok(Self {
            buf,
            head: 0,
            len: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn free(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Appends as much of `data` as fits: how much.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let cap = self.buf.len();
        for (i, &byte) in data[..n].iter().enumerate() {
            self.buf[(self.head + self.len + i) % cap] = byte;
        }
        self.len += n;
        n
    }

    /// Takes the oldest bytes into `out`: how many.
    pub fn pop(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        let cap = self.buf.len();
        for (i, byte) in out[..n].iter_mut().enumerate() {
            *byte = self.buf[(self.head + i) % cap];
        }
        self.head = (self.head + n) % cap.max(1);
        self.len -= n;
        n
    }
}

#[cfg(target_os = "none")]
pub use target::Pipe;

#[cfg(target_os = "none")]
mod target {
    use super::*;
    use crate::fs::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT};
    use crate::sched::wait::WaitQueue;
    use alloc::sync::Arc;
    use arch::spinlock::SpinLockIrq;

    struct State {
        ring: Ring,
        readers: u32,
        writers: u32,
    }

    /// One pipe: its ring, how many open ends of each kind, and the queues their sleepers
    /// wait on.
    pub struct Pipe {
        state: SpinLockIrq<State>,
        read_wait: WaitQueue,
        write_wait: WaitQueue,
    }

    impl Pipe {
        /// A pipe with one reader and one writer.
        pub fn new() -> Result<Arc<Self>, Errno> {
            Arc::try_new(Self {
                state: SpinLockIrq::new(State {
                    ring: Ring::with_capacity(PIPE_SIZE)?,
                    readers: 1,
                    writers: 1,
                }),
                read_wait: WaitQueue::new(),
                write_wait: WaitQueue::new(),
            })
            .map_err(|_| Errno::ENOMEM)
        }

        /// Reads what is there (sleeping until something is, unless `nonblock`): 0 at end of
        /// file, `EAGAIN`, `EINTR` when a signal ends the sleep.
        pub fn read(&self, out: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
            if out.is_empty() {
                return Ok(0);
            }
            loop {
                {
                    let mut state = self.state.lock();
                    let n = state.ring.pop(out);
                    if n > 0 {
                        drop(state);
                        self.write_wait.wake_up();
                        return Ok(n);
                    }
                    if state.writers == 0 {
                        return Ok(0);
                    }
                }
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                self.read_wait
                    .wait_event(|| {
                        let state = self.state.lock();
                        !state.ring.is_empty() || state.writers == 0
                    })
                    .map_err(|_| Errno::EINTR)?;
            }
        }

        /// Writes `data`, sleeping while the ring is full: how much went in. `EPIPE` without
        /// readers, `EAGAIN`/`EINTR` if nothing went in before `nonblock` or a signal stopped
        /// it.
        pub fn write(&self, data: &[u8], nonblock: bool) -> Result<usize, Errno> {
            let mut done = 0;
            loop {
                {
                    let mut state = self.state.lock();
                    if state.readers == 0 {
                        return if done > 0 {
                            Ok(done)
                        } else {
                            Err(Errno::EPIPE)
                        };
                    }
                    let rest = &data[done..];
                    // Small writes go in whole or wait.
                    if rest.len() > PIPE_BUF || state.ring.free() >= rest.len() {
                        done += state.ring.push(rest);
                    }
                }
                self.read_wait.wake_up();
                if done == data.len() {
                    return Ok(done);
                }
                if nonblock {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EAGAIN)
                    };
                }
                let need = (data.len() - done).min(PIPE_BUF);
                let waited = self.write_wait.wait_event(|| {
                    let state = self.state.lock();
                    state.ring.free() >= need || state.readers == 0
                });
                if waited.is_err() {
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EINTR)
                    };
                }
            }
        }

        /// Readiness of the read end (`reader`) or the write end.
        pub fn poll(&self, reader: bool) -> u16 {
            let state = self.state.lock();
            if reader {
                let mut events = 0;
                if !state.ring.is_empty() {
                    events |= POLLIN;
                }
                if state.writers == 0 {
                    events |= POLLHUP;
                }
                events
            } else if state.readers == 0 {
                POLLOUT | POLLERR
            } else if state.ring.free() >= PIPE_BUF {
                POLLOUT
            } else {
                0
            }
        }

        /// The queue woken whenever [`Self::poll`]'s answer for that end may change: the
        /// readers' on a write and a close, the writers' on a read and a close.
        pub fn poll_queue(&self, reader: bool) -> &WaitQueue {
            if reader {
                &self.read_wait
            } else {
                &self.write_wait
            }
        }

        /// Bytes waiting (`FIONREAD`).
        pub fn available(&self) -> usize {
            self.state.lock().ring.len()
        }

        /// Another open end of one kind (fork or dup of a description counts once: this is
        /// for new descriptions only).
        pub fn open_end(&self, reader: bool) {
            let mut state = self.state.lock();
            if reader {
                state.readers += 1;
            } else {
                state.writers += 1;
            }
        }

        /// An end's last reference is gone: wakes the other side.
        pub fn close_end(&self, reader: bool) {
            {
                let mut state = self.state.lock();
                if reader {
                    state.readers -= 1;
                } else {
                    state.writers -= 1;
                }
            }
            self.read_wait.wake_up();
            self.write_wait.wake_up();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_wraps_and_reports_free_space() {
        let mut ring = Ring::with_capacity(8).unwrap();
        assert_eq!(ring.push(b"abcdef"), 6);
        let mut out = [0u8; 4];
        assert_eq!(ring.pop(&mut out), 4);
        assert_eq!(&out, b"abcd");
        assert_eq!(ring.free(), 6);
        assert_eq!(ring.push(b"ghijklmn"), 6);
        assert_eq!(ring.len(), 8);
        assert_eq!(ring.push(b"x"), 0);
        let mut all = [0u8; 10];
        assert_eq!(ring.pop(&mut all), 8);
        assert_eq!(&all[..8], b"efghijkl");
        assert!(ring.is_empty());
        assert_eq!(ring.pop(&mut all), 0);
    }

    #[test]
    fn pipe_size_ring_allocates() {
        let mut ring = Ring::with_capacity(PIPE_SIZE).unwrap();
        let data = alloc::vec![7u8; PIPE_SIZE + 10];
        assert_eq!(ring.push(&data), PIPE_SIZE);
        assert_eq!(ring.free(), 0);
    }
}
