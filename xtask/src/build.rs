//! `cargo xtask build`: compiles the kernel for its target, checks that its `noinstr` code
//! reaches no traceable function ([`objtool`]), then fills the `.kallsyms` section of a copy of
//! the linked ELF with the kernel's function symbols. The image QEMU boots is that
//! copy: target/kernel.elf, or target/ktest.elf for the in-kernel test build.
//!
//! The test build uses its own target directory (target/ktest) so switching between the two
//! never rebuilds either from scratch; so does the build with a planted `noinstr` violation
//! (target/planted), which `cargo xtask test` expects to fail.

use std::fs;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::workspace::{self, KERNEL_TARGET};
use crate::{Result, command, initramfs, kallsyms, objtool, prereq};

/// Cargo features of the kernel that select an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Feature {
    /// The in-kernel test build: runs every test in the `.ktest` section instead of the shell.
    Ktest,
    /// The kernel with a deliberate `noinstr` violation: its build must fail the check.
    PlantNoinstrViolation,
}

/// Options shared by every subcommand that builds an image.
#[derive(Args, Clone, Debug)]
pub struct BuildArgs {
    /// Kernel features to build with.
    #[arg(long, value_enum)]
    pub features: Option<Feature>,
}

impl BuildArgs {
    /// The image these options select.
    pub fn image(&self) -> Image {
        match self.features {
            None => Image::Kernel,
            Some(Feature::Ktest) => Image::Ktest,
            Some(Feature::PlantNoinstrViolation) => Image::PlantedViolation,
        }
    }
}

/// A bootable kernel image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    /// The kernel with its shell.
    Kernel,
    /// The in-kernel test build.
    Ktest,
    /// The kernel with a `noinstr` violation planted, which the build must refuse.
    PlantedViolation,
}

impl Image {
    fn cargo_target_dir(self) -> PathBuf {
        match self {
            Image::Kernel => workspace::target_dir(),
            Image::Ktest => workspace::target_dir().join("ktest"),
            Image::PlantedViolation => workspace::target_dir().join("planted"),
        }
    }

    /// The ELF the linker wrote.
    fn linked(self) -> PathBuf {
        self.cargo_target_dir()
            .join(KERNEL_TARGET)
            .join("release")
            .join("kernel")
    }

    /// The bootable ELF, symbol table included.
    pub fn path(self) -> PathBuf {
        let name = match self {
            Image::Kernel => "kernel.elf",
            Image::Ktest => "ktest.elf",
            Image::PlantedViolation => "planted.elf",
        };
        workspace::target_dir().join(name)
    }
}

/// Builds `image` and returns the path of the bootable ELF.
pub fn build(image: Image) -> Result<PathBuf> {
    prereq::ensure_toolchain()?;
    // The user programs and the archive the kernel embeds come first.
    initramfs::prepare()?;
    let mut cargo = workspace::cargo();
    cargo.args([
        "build",
        "-p",
        "kernel",
        "--bin",
        "kernel",
        "--target",
        KERNEL_TARGET,
        "--release",
    ]);
    cargo.arg("--target-dir").arg(image.cargo_target_dir());
    match image {
        Image::Kernel => {}
        Image::Ktest => {
            cargo.args(["--features", "ktest"]);
        }
        Image::PlantedViolation => {
            cargo.args(["--features", "plant-noinstr-violation"]);
        }
    }
    command::run(&mut cargo)?;

    let linked = image.linked();
    let elf =
        fs::read(&linked).map_err(|error| format!("cannot read {}: {error}", linked.display()))?;
    let checked =
        objtool::check_elf(&elf).map_err(|error| format!("{}: {error}", linked.display()))?;
    let symbols =
        kallsyms::symbols(&elf).map_err(|error| format!("{}: {error}", linked.display()))?;
    let table = kallsyms::encode(&symbols);
    let embedded =
        kallsyms::embed(&elf, &table).map_err(|error| format!("{}: {error}", linked.display()))?;

    let output = image.path();
    // Write then rename, so a QEMU starting meanwhile never loads half an image.
    let partial = output.with_extension("elf.partial");
    fs::write(&partial, &embedded.elf)
        .map_err(|error| format!("cannot write {}: {error}", partial.display()))?;
    fs::rename(&partial, &output)
        .map_err(|error| format!("cannot write {}: {error}", output.display()))?;
    eprintln!(
        "{}: noinstr check: {checked} bytes of .noinstr.text reach no patch site; kallsyms: {} \
         symbols, {} of {} bytes used",
        output.display(),
        embedded.symbols,
        table.len(),
        embedded.reserved
    );
    Ok(output)
}
