//! `crash null|undef|brk`: dies the way it is told (a NULL read, an undefined instruction, a
//! BRK), so the kernel must kill it with SIGSEGV, SIGILL or SIGTRAP and carry on.
#![cfg_attr(target_os = "none", no_std, no_main)]

fn run(args: user::Args) -> i32 {
    match args.get(1).unwrap_or(b"null") {
        b"null" => {
            // SAFETY: deliberately not: page 0 is never mapped.
            let value = unsafe { core::ptr::read_volatile(core::ptr::null::<u64>()) };
            value as i32
        }
        #[cfg(target_os = "none")]
        b"undef" => {
            // SAFETY: deliberately not: a permanently undefined encoding.
            unsafe { core::arch::asm!("udf #0") };
            0
        }
        #[cfg(target_os = "none")]
        b"brk" => {
            // SAFETY: deliberately not: a breakpoint nobody debugs.
            unsafe { core::arch::asm!("brk #0x7") };
            0
        }
        _ => {
            user::print(b"usage: crash null|undef|brk\n");
            2
        }
    }
}

user::entry!(run);
