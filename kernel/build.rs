//! Links the kernel image with the workspace's `linker.ld` (only for the bare-metal target; the
//! host build of the library is just for unit tests), and names the initramfs archive the image
//! embeds: target/initramfs.cpio as `cargo xtask build` writes it (user programs included), or,
//! when it does not exist yet (a bare `cargo build` or `cargo clippy` on a fresh clone), an
//! empty archive, so the kernel always builds.

use std::path::Path;

/// A `newc` archive holding only its trailer.
fn empty_archive() -> Vec<u8> {
    let name = b"TRAILER!!!\0";
    let mut out = format!(
        "070701{:08x}{}{:08x}{:08x}",
        0,
        "00000000".repeat(10),
        name.len(),
        0
    )
    .into_bytes();
    out.extend_from_slice(name);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = Path::new(&manifest_dir).join("../linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }

    let archive = Path::new(&manifest_dir).join("../target/initramfs.cpio");
    println!("cargo:rerun-if-changed={}", archive.display());
    let path = if archive.exists() {
        archive
    } else {
        let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
        let empty = Path::new(&out_dir).join("empty.cpio");
        std::fs::write(&empty, empty_archive()).expect("OUT_DIR is writable");
        empty
    };
    println!("cargo:rustc-env=INITRAMFS_PATH={}", path.display());
}
