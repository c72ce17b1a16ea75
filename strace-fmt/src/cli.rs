//! What the tracer decides from plain numbers: its command line (`strace [-f] [-o FILE] PROG
//! [ARGS]`) and the meaning of each `wait4` status word (Linux's `WIFEXITED`, `WIFSIGNALED`,
//! `WIFSTOPPED`, and for ptrace stops the `SIGTRAP | 0x80` syscall stops and the
//! `PTRACE_EVENT_*` in bits 16-23).

/// The parsed command line; `prog` is the index of PROG in the arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options<'a> {
    pub follow: bool,
    pub output: Option<&'a [u8]>,
    pub prog: usize,
}

/// Parses `strace [-f] [-o FILE | -oFILE] [--] PROG [ARGS]` from `argc` arguments (0 is
/// strace itself); `None` for anything else (strace then prints its usage error).
pub fn parse<'a>(argc: usize, arg: impl Fn(usize) -> Option<&'a [u8]>) -> Option<Options<'a>> {
    let mut options = Options {
        follow: false,
        output: None,
        prog: 1,
    };
    while let Some(word) = arg(options.prog) {
        match word {
            b"-f" => options.follow = true,
            b"-o" => {
                options.prog += 1;
                options.output = Some(arg(options.prog)?);
            }
            b"--" => {
                options.prog += 1;
                break;
            }
            _ if word.starts_with(b"-o") => options.output = Some(&word[2..]),
            _ if word.starts_with(b"-") => return None,
            _ => break,
        }
        options.prog += 1;
    }
    (options.prog < argc).then_some(options)
}

/// `SIGTRAP | 0x80`: a syscall stop under `PTRACE_O_TRACESYSGOOD`.
pub const SYSCALL_TRAP: u32 = 5 | 0x80;

/// What one `wait4` status word reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    Exited(u8),
    Killed {
        sig: u32,
        core_dumped: bool,
    },
    /// A syscall-enter or -exit stop.
    SyscallStop,
    /// A `PTRACE_EVENT_*` stop (fork, exec, exit...).
    EventStop(u32),
    /// A signal-delivery-stop or a group-stop of this signal.
    SignalStop(u32),
    /// Not a ptrace status (`WIFCONTINUED`).
    Other,
}

impl WaitStatus {
    pub fn decode(status: u32) -> Self {
        if status == 0xffff {
            return Self::Other;
        }
        let low = status & 0x7f;
        if low == 0 {
            return Self::Exited(((status >> 8) & 0xff) as u8);
        }
        if status & 0xff != 0x7f {
            return Self::Killed {
                sig: low,
                core_dumped: status & 0x80 != 0,
            };
        }
        let sig = (status >> 8) & 0xff;
        match status >> 16 {
            0 if sig == SYSCALL_TRAP => Self::SyscallStop,
            0 => Self::SignalStop(sig),
            event => Self::EventStop(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed<'a>(args: &'a [&'a [u8]]) -> Option<Options<'a>> {
        parse(args.len(), |i| args.get(i).copied())
    }

    #[test]
    fn command_lines() {
        assert_eq!(
            parsed(&[b"strace", b"/bin/hello"]),
            Some(Options {
                follow: false,
                output: None,
                prog: 1
            })
        );
        assert_eq!(
            parsed(&[b"strace", b"-f", b"-o", b"/tmp/t", b"ls", b"-l"]),
            Some(Options {
                follow: true,
                output: Some(b"/tmp/t"),
                prog: 4
            })
        );
        assert_eq!(
            parsed(&[b"strace", b"-o/tmp/t", b"--", b"-weird"]),
            Some(Options {
                follow: false,
                output: Some(b"/tmp/t"),
                prog: 3
            })
        );
        // PROG's own options are its own.
        assert_eq!(
            parsed(&[b"strace", b"ls", b"-f"]).map(|o| (o.follow, o.prog)),
            Some((false, 1))
        );
        assert_eq!(parsed(&[b"strace"]), None);
        assert_eq!(parsed(&[b"strace", b"-f"]), None);
        assert_eq!(parsed(&[b"strace", b"-o"]), None);
        assert_eq!(parsed(&[b"strace", b"-x", b"ls"]), None);
        assert_eq!(parsed(&[b"strace", b"--"]), None);
    }

    #[test]
    fn status_words() {
        assert_eq!(WaitStatus::decode(0), WaitStatus::Exited(0));
        assert_eq!(WaitStatus::decode(3 << 8), WaitStatus::Exited(3));
        assert_eq!(
            WaitStatus::decode(11),
            WaitStatus::Killed {
                sig: 11,
                core_dumped: false
            }
        );
        assert_eq!(
            WaitStatus::decode(0x80 | 6),
            WaitStatus::Killed {
                sig: 6,
                core_dumped: true
            }
        );
        assert_eq!(
            WaitStatus::decode((0x85 << 8) | 0x7f),
            WaitStatus::SyscallStop
        );
        assert_eq!(
            WaitStatus::decode((19 << 8) | 0x7f),
            WaitStatus::SignalStop(19)
        );
        assert_eq!(
            WaitStatus::decode((5 << 8) | 0x7f),
            WaitStatus::SignalStop(5)
        );
        assert_eq!(
            WaitStatus::decode((6 << 16) | (5 << 8) | 0x7f),
            WaitStatus::EventStop(6)
        );
        assert_eq!(
            WaitStatus::decode((1 << 16) | (5 << 8) | 0x7f),
            WaitStatus::EventStop(1)
        );
        assert_eq!(WaitStatus::decode(0xffff), WaitStatus::Other);
    }
}
