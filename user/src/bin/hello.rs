//! Prints a greeting and its pid's parent: the first program every kernel runs.
#![cfg_attr(target_os = "none", no_std, no_main)]

fn run(_args: user::Args) -> i32 {
    user::print(b"Hello from EL0!\n");
    0
}

user::entry!(run);
