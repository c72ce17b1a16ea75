//! A process's file descriptor table (Linux: `struct files_struct`, `fs/file.c`): small
//! integers naming open files, the lowest free one taken first, each with its close-on-exec
//! flag. `fork` copies the table (the files are shared, as dup'd descriptors are), `execve`
//! closes the close-on-exec ones, exit closes all.
//!
//! Generic over the open-file type so the host tests can use a stand-in.

use super::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Linux's default `RLIMIT_NOFILE` soft limit (`INR_OPEN_CUR`): the limit of descriptors a
/// table opened by the kernel itself gets.
pub const NR_OPEN_DEFAULT: usize = 1024;

struct Slot<F> {
    file: Arc<F>,
    cloexec: bool,
}

impl<F> Clone for Slot<F> {
    fn clone(&self) -> Self {
        Self {
            file: self.file.clone(),
            cloexec: self.cloexec,
        }
    }
}

/// One process's descriptors.
pub struct FdTable<F> {
    slots: Vec<Option<Slot<F>>>,
}

impl<F> Default for FdTable<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> FdTable<F> {
    pub const fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// A copy for a forked child (the same open files); `ENOMEM` if it cannot be allocated.
    pub fn try_clone(&self) -> Result<Self, Errno> {
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(self.slots.len())
            .map_err(|_| Errno::ENOMEM)?;
        slots.extend(self.slots.iter().cloned());
        Ok(Self { slots })
    }

    fn slot(&self, fd: i32) -> Result<&Slot<F>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get(fd))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    /// The open file of `fd`: `EBADF` if none.
    pub fn get(&self, fd: i32) -> Result<Arc<F>, Errno> {
        self.slot(fd).map(|slot| slot.file.clone())
    }

    /// Installs `file` at the lowest free descriptor not below `min`: `EMFILE` if there is
    /// none under `limit` (the process's `RLIMIT_NOFILE`; `EINVAL` for a `min` at or past it,
    /// as `F_DUPFD`).
    pub fn alloc(
        &mut self,
        file: Arc<F>,
        cloexec: bool,
        min: usize,
        limit: usize,
    ) -> Result<i32, Errno> {
        if min >= limit {
            return Err(Errno::EINVAL);
        }
        let free = (min..self.slots.len()).find(|&fd| self.slots[fd].is_none());
        let fd = match free {
            Some(fd) => fd,
            None => self.slots.len().max(min),
        };
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        self.install(fd, file, cloexec, limit)?;
        Ok(fd as i32)
    }

    /// Puts `file` at `fd`, replacing (and returning) what was there (`dup2`/`dup3`).
    /// `EBADF` for a descriptor at or past `limit`; `ENOMEM` if the table cannot grow.
    pub fn install(
        &mut self,
        fd: usize,
        file: Arc<F>,
        cloexec: bool,
        limit: usize,
    ) -> Result<Option<Arc<F>>, Errno> {
        if fd >= limit {
            return Err(Errno::EBADF);
        }
        if fd >= self.slots.len() {
            self.slots
                .try_reserve(fd + 1 - self.slots.len())
                .map_err(|_| Errno::ENOMEM)?;
            self.slots.resize_with(fd + 1, || None);
        }
        let old = self.slots[fd].replace(Slot { file, cloexec });
        Ok(old.map(|slot| slot.file))
    }

    /// One past the highest descriptor the table has room for (Linux: `fdt->max_fds`).
    pub fn max_fds(&self) -> usize {
        self.slots.len()
    }

    /// Takes `fd` out of the table: its file, `EBADF` if none.
    pub fn close(&mut self, fd: i32) -> Result<Arc<F>, Errno> {
        self.slot(fd)?;
        let slot = self.slots[fd as usize].take().ok_or(Errno::EBADF)?;
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        Ok(slot.file)
    }

    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        self.slot(fd).map(|slot| slot.cloexec)
    }

    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        self.slot(fd)?;
        if let Some(slot) = self.slots[fd as usize].as_mut() {
            slot.cloexec = cloexec;
        }
        Ok(())
    }

    /// `execve`: closes every close-on-exec descriptor.
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|slot| slot.cloexec) {
                *slot = None;
            }
        }
    }

    /// Exit: closes everything.
    pub fn close_all(&mut self) {
        self.slots.clear();
    }

    /// The open descriptors, ascending.
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.is_some())
            .map(|(fd, _)| fd as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limit most tests run with.
    const L: usize = NR_OPEN_DEFAULT;

    #[test]
    fn lowest_free_descriptor_first() {
        let mut table = FdTable::new();
        let a = Arc::new('a');
        assert_eq!(table.alloc(a.clone(), false, 0, L), Ok(0));
        assert_eq!(table.alloc(a.clone(), false, 0, L), Ok(1));
        assert_eq!(table.alloc(a.clone(), true, 0, L), Ok(2));
        assert_eq!(table.close(1).map(|f| *f), Ok('a'));
        assert_eq!(table.close(1), Err(Errno::EBADF));
        assert_eq!(table.alloc(Arc::new('b'), false, 0, L), Ok(1));
        assert_eq!(table.get(1).map(|f| *f), Ok('b'));
        assert_eq!(table.alloc(a.clone(), false, 10, L), Ok(10));
        assert_eq!(table.alloc(a.clone(), false, 5, L), Ok(5));
        assert_eq!(table.get(-1), Err(Errno::EBADF));
        assert_eq!(table.get(4), Err(Errno::EBADF));
        assert_eq!(table.get(i32::MAX), Err(Errno::EBADF));
        assert_eq!(table.fds().collect::<Vec<_>>(), [0, 1, 2, 5, 10]);
    }

    #[test]
    fn the_limit_is_emfile() {
        let mut table = FdTable::new();
        for fd in 0..NR_OPEN_DEFAULT {
            assert_eq!(table.alloc(Arc::new(()), false, 0, L), Ok(fd as i32));
        }
        assert_eq!(table.alloc(Arc::new(()), false, 0, L), Err(Errno::EMFILE));
        assert_eq!(
            table.alloc(Arc::new(()), false, NR_OPEN_DEFAULT, L),
            Err(Errno::EINVAL)
        );
        table.close(7).unwrap();
        assert_eq!(table.alloc(Arc::new(()), false, 0, L), Ok(7));
        // A lower limit (setrlimit) applies to new descriptors; those above it stay open.
        assert_eq!(table.alloc(Arc::new(()), false, 0, 16), Err(Errno::EMFILE));
        table.close(3).unwrap();
        assert_eq!(table.alloc(Arc::new(()), false, 0, 16), Ok(3));
        assert_eq!(table.alloc(Arc::new(()), false, 16, 16), Err(Errno::EINVAL));
        assert_eq!(
            table.install(16, Arc::new(()), false, 16).err(),
            Some(Errno::EBADF)
        );
        assert!(table.get(1000).is_ok());
        assert_eq!(
            table.install(NR_OPEN_DEFAULT, Arc::new(()), false, L).err(),
            Some(Errno::EBADF)
        );
    }

    #[test]
    fn dup2_replaces_and_exec_closes_cloexec() {
        let mut table = FdTable::new();
        table.alloc(Arc::new(0), false, 0, L).unwrap();
        table.alloc(Arc::new(1), true, 0, L).unwrap();
        let old = table.install(0, Arc::new(9), false, L).unwrap();
        assert_eq!(old.map(|f| *f), Some(0));
        assert_eq!(table.cloexec(1), Ok(true));
        table.set_cloexec(0, true).unwrap();
        table.set_cloexec(1, false).unwrap();
        let child = table.try_clone().unwrap();
        assert!(Arc::ptr_eq(&child.get(0).unwrap(), &table.get(0).unwrap()));
        table.close_on_exec();
        assert_eq!(table.get(0), Err(Errno::EBADF));
        assert_eq!(table.get(1).map(|f| *f), Ok(1));
        assert_eq!(child.get(0).map(|f| *f), Ok(9));
        table.close_all();
        assert_eq!(table.fds().count(), 0);
    }
}
