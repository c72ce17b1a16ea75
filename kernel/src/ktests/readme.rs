//! The tracefs README against the running kernel: every file in the tree and every shell
//! command is in it, so a new file or command cannot be left out of it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::fs::{self, NodeKind};
use crate::trace::readme::entry_for;
use crate::tracefs::TRACEFS;
use crate::{kassert, ktest};

/// Every file under `dir`, depth first.
fn files_under(dir: &str, out: &mut Vec<String>) -> Result<(), String> {
    let names = fs::list(dir).map_err(|e| alloc::format!("ls {dir}: {e}"))?;
    for name in names {
        let path = alloc::format!("{}/{name}", dir.trim_end_matches('/'));
        match fs::lookup(&path) {
            Ok(NodeKind::Dir) => files_under(&path, out)?,
            Ok(NodeKind::File { .. }) => out.push(path),
            // A kernel task's `exe` links to nothing, as a kthread's does in Linux.
            Err(fs::Errno::ENOENT) if path.starts_with("/proc/") && path.ends_with("/exe") => {
                out.push(path)
            }
            Err(e) => return Err(alloc::format!("{path}: {e}")),
        }
    }
    Ok(())
}

fn readme() -> Result<String, String> {
    let mut text = String::new();
    fs::read(&alloc::format!("{TRACEFS}/README"), &mut text)
        .map_err(|e| alloc::format!("cat README: {e}"))?;
    Ok(text)
}

ktest! {
fn every_file_and_command_is_in_the_readme() -> TestResult {
    let text = readme()?;
    let mut files = Vec::new();
    files_under("/", &mut files)?;
    kassert!(files.len() > 30, "only {} files in the tree", files.len());
    for path in &files {
        let entry = entry_for(path, TRACEFS)
            .ok_or_else(|| alloc::format!("{path} has no README entry (trace::readme)"))?;
        kassert!(text.contains(entry.text), "{path}: its entry is not in the README");
    }
    for command in crate::shell::commands() {
        let line = alloc::format!("\n  {} ", command.usage);
        kassert!(text.contains(&line), "shell command `{}` is not in the README", command.name);
    }
    Ok(())
}
}
