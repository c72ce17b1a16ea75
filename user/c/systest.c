/* /bin/systest-glibc: checks, through glibc, the process-attribute and memory syscalls that
 * glibc's start-up and busybox use (mprotect, rlimits, process groups and sessions, vfork,
 * wait4 by group, real-time signals, futex, umask, sysinfo, prctl, times, getrusage,
 * sched_getaffinity). Prints "ok NAME" or "FAIL NAME: why" per check, then a summary; exits
 * with the number of failures. Runs unchanged on Linux (as root, started by a shell as its own
 * process group, as the console shell starts programs). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int failures, passes;

static void check(const char *name, int ok, const char *why) {
    if (ok) {
        printf("ok %s\n", name);
        passes++;
    } else {
        printf("FAIL %s: %s (errno %d)\n", name, why, errno);
        failures++;
    }
}

static sigjmp_buf fault_jmp;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *info, void *ctx) {
    (void)sig; (void)ctx;
    fault_code = info->si_code;
    siglongjmp(fault_jmp, 1);
}

/* Whether writing (or reading) *p faults; the si_code of the fault in fault_code. */
static int faults(volatile char *p, int write) {
    fault_code = 0;
    if (sigsetjmp(fault_jmp, 1))
        return 1;
    if (write)
        *p = 1;
    else
        (void)*p;
    return 0;
}

static void test_mprotect(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap", p != MAP_FAILED, "mmap failed");
    strcpy(p, "kept");
    check("mprotect-ro", mprotect(p, page, PROT_READ) == 0, "mprotect PROT_READ failed");
    check("mprotect-ro-faults", faults(p, 1) && fault_code == SEGV_ACCERR,
          "a write to a read-only page did not fault with SEGV_ACCERR");
    check("mprotect-ro-reads", !faults(p, 0) && strcmp(p, "kept") == 0, "read failed");
    check("mprotect-other-page", !faults(p + page, 1), "the next page lost its access");
    check("mprotect-none", mprotect(p, page, PROT_NONE) == 0, "mprotect PROT_NONE failed");
    check("mprotect-none-faults", faults(p, 0) && fault_code == SEGV_ACCERR,
          "a read of a PROT_NONE page did not fault with SEGV_ACCERR");
    check("mprotect-rw", mprotect(p, 2 * page, PROT_READ | PROT_WRITE) == 0, "mprotect RW");
    check("mprotect-keeps-data", !faults(p, 1) && strcmp(p + 1, "ept") == 0,
          "data lost across PROT_NONE");
    char *r = mmap(NULL, 4 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("reserve", r != MAP_FAILED && faults(r, 0), "PROT_NONE mmap is accessible");
    check("reserve-open", mprotect(r + page, page, PROT_READ | PROT_WRITE) == 0,
          "mprotect of a reservation failed");
    check("reserve-opened", !faults(r + page, 1) && r[page] == 1 && faults(r, 0) &&
          faults(r + 2 * page, 0), "opening one page of a reservation went wrong");
    munmap(r, 4 * page);
    errno = 0;
    check("mprotect-unmapped", mprotect(r, page, PROT_READ) == -1 && errno == ENOMEM,
          "mprotect of unmapped memory did not fail with ENOMEM");
    errno = 0;
    check("mprotect-unaligned", mprotect(p + 1, page, PROT_READ) == -1 && errno == EINVAL,
          "unaligned mprotect did not fail with EINVAL");
    check("madvise-dontneed", madvise(p, page, MADV_DONTNEED) == 0 && p[0] == 0,
          "MADV_DONTNEED did not zero the page");
    munmap(p, 2 * page);
    signal(SIGSEGV, SIG_DFL);
}

static void test_rlimits(void) {
    struct rlimit rl;
    check("rlimit-stack", getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur == 8 << 20 &&
          rl.rlim_max == RLIM_INFINITY, "RLIMIT_STACK is not 8 MiB/unlimited");
    check("rlimit-nofile", getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 1024 &&
          rl.rlim_max == 4096, "RLIMIT_NOFILE is not 1024/4096");
    struct rlimit set = {64, 128}, old;
    check("prlimit-set", prlimit(0, RLIMIT_NOFILE, &set, &old) == 0 && old.rlim_cur == 1024,
          "prlimit set");
    check("prlimit-get", getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 64 &&
          rl.rlim_max == 128, "the new limit did not stick");
    struct rlimit bad = {10, 5};
    errno = 0;
    check("rlimit-inverted", setrlimit(RLIMIT_NOFILE, &bad) == -1 && errno == EINVAL,
          "soft above hard accepted");
    errno = 0;
    check("rlimit-unknown", getrlimit(99, &rl) == -1 && errno == EINVAL, "resource 99");
    pid_t child = fork();
    if (child == 0) {
        _exit(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 64 ? 0 : 1);
    }
    int status;
    check("rlimit-inherited", waitpid(child, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0, "a child did not inherit the limit");
    /* The open-file limit applies: open(2) gets EMFILE at it, dup2 past it EBADF, F_DUPFD
       past it EINVAL; descriptors already above a lowered limit stay usable. */
    int high = fcntl(0, F_DUPFD, 20);
    struct rlimit eight = {8, 128};
    check("nofile-lower", high == 20 && setrlimit(RLIMIT_NOFILE, &eight) == 0, "set 8");
    int last = -1, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) last = fd;
    check("nofile-emfile", last == 7 && errno == EMFILE, "open past RLIMIT_NOFILE");
    errno = 0;
    check("nofile-dup2", dup2(0, 8) == -1 && errno == EBADF, "dup2 past RLIMIT_NOFILE");
    errno = 0;
    check("nofile-dupfd", fcntl(0, F_DUPFD, 8) == -1 && errno == EINVAL,
          "F_DUPFD past RLIMIT_NOFILE");
    check("nofile-above", write(high, "", 0) == 0 && close(high) == 0,
          "a descriptor above the new limit");
    for (fd = 3; fd <= last; fd++) close(fd);
    check("nofile-restore", setrlimit(RLIMIT_NOFILE, &set) == 0, "set back");
}

static volatile sig_atomic_t got_usr1, got_rt;

static void on_usr1(int sig) { (void)sig; got_usr1++; }
static void on_rt(int sig) { got_rt = sig; }

static void test_groups(void) {
    pid_t me = getpid();
    check("pgid-own-group", getpgid(0) == me && getpgrp() == me,
          "a program the shell starts does not lead its own group");
    check("sid", getsid(0) > 0 && getsid(0) != me, "the session is not the shell's");
    errno = 0;
    check("setsid-leader", setsid() == -1 && errno == EPERM, "a group leader made a session");
    pid_t child = fork();
    if (child == 0) {
        int ok = getpgid(0) == me;
        ok = ok && setpgid(0, 0) == 0 && getpgid(0) == getpid();
        ok = ok && setpgid(0, me) == 0 && getpgid(0) == me;
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    check("setpgid", WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a child could not move to its own group and back");
    child = fork();
    if (child == 0) {
        pid_t sid = setsid();
        _exit(sid == getpid() && getsid(0) == getpid() && getpgid(0) == getpid() ? 0 : 1);
    }
    check("setsid", waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 0,
          "setsid in a child failed");
    errno = 0;
    check("setpgid-bad", setpgid(0, -1) == -1 && errno == EINVAL, "negative pgid");
    errno = 0;
    check("getpgid-none", getpgid(99999) == -1 && errno == ESRCH, "no such process");

    /* kill(0) reaches the whole group: us and a child. */
    signal(SIGUSR1, on_usr1);
    child = fork();
    if (child == 0) {
        for (int i = 0; i < 200 && !got_usr1; i++)
            usleep(10000);
        _exit(got_usr1 ? 0 : 1);
    }
    check("kill-group", kill(0, SIGUSR1) == 0, "kill(0) failed");
    for (int i = 0; i < 100 && !got_usr1; i++)
        usleep(1000);
    check("kill-group-self", got_usr1 == 1, "the caller did not get its group's signal");
    check("kill-group-child", waitpid(-me, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0, "the child did not get the group's signal");
    errno = 0;
    check("kill-group-none", kill(-99999, SIGUSR1) == -1 && errno == ESRCH, "empty group");
    child = fork();
    if (child == 0)
        _exit(3);
    check("wait-group", waitpid(0, &status, 0) == child && WEXITSTATUS(status) == 3,
          "wait4(0) missed a child of our group");
}

static void test_misc(void) {
    /* Real-time signals: caught, queued as pending while blocked, delivered on unblock. */
    signal(SIGRTMIN + 3, on_rt);
    raise(SIGRTMIN + 3);
    check("rt-signal", got_rt == SIGRTMIN + 3, "SIGRTMIN+3 not delivered");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMAX);
    signal(SIGRTMAX, on_rt);
    sigprocmask(SIG_BLOCK, &set, NULL);
    got_rt = 0;
    kill(getpid(), SIGRTMAX);
    sigset_t pending;
    sigpending(&pending);
    check("rt-pending", got_rt == 0 && sigismember(&pending, SIGRTMAX), "not pending");
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    check("rt-unblocked", got_rt == SIGRTMAX, "SIGRTMAX not delivered on unblock");

    static volatile int vfork_shared;
    vfork_shared = 0;
    pid_t child = vfork();
    if (child == 0) {
        vfork_shared = 42;
        _exit(7);
    }
    int status;
    check("vfork", child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 7, "vfork child status");
    check("vfork-shares-memory", vfork_shared == 42, "the vfork child's write is not the parent's");
    char *spawn_argv[] = {"nonexistent", NULL};
    pid_t spawned;
    int spawn_err = posix_spawn(&spawned, "/nonexistent", NULL, NULL, spawn_argv, environ);
    check("posix_spawn-enoent", spawn_err == ENOENT, "posix_spawn of a missing file is not ENOENT");

    mode_t old = umask(077);
    check("umask", old == 022 && umask(old) == 077, "umask values");
    struct sysinfo si;
    check("sysinfo", sysinfo(&si) == 0 && si.totalram > 0 && si.freeram <= si.totalram &&
          si.mem_unit > 0 && si.procs > 0, "sysinfo values");
    char name[16] = {0};
    check("prctl-name", prctl(PR_GET_NAME, name) == 0 && strcmp(name, "systest-glibc") == 0,
          "PR_GET_NAME");
    struct tms t;
    check("times", times(&t) != (clock_t)-1, "times");
    struct rusage ru;
    errno = 0;
    check("getrusage", getrusage(RUSAGE_SELF, &ru) == 0 &&
          getrusage(42, &ru) == -1 && errno == EINVAL, "getrusage");
    int word = 5;
    check("futex-wake", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0,
          "FUTEX_WAKE with no waiter");
    errno = 0;
    struct timespec tmo = {0, 20 * 1000 * 1000};
    errno = 0;
    check("futex-timeout",
          syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, word, &tmo, NULL, 0) == -1 &&
              errno == ETIMEDOUT, "a timed wait that nobody wakes");
    /* The raw ppoll writes the time left back (glibc's wrapper passes a copy): 0 once the
       timeout has passed with nothing ready. */
    int fds[2];
    struct timespec left = {0, 30 * 1000 * 1000};
    check("ppoll-time-left", pipe(fds) == 0 &&
          syscall(SYS_ppoll, &(struct pollfd){fds[0], POLLIN, 0}, 1, &left, NULL, 8) == 0 &&
          left.tv_sec == 0 && left.tv_nsec == 0 && close(fds[0]) == 0 && close(fds[1]) == 0,
          "ppoll's timeout after a timeout");
    check("futex-wait-changed",
          syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0) == -1 &&
          errno == EAGAIN, "FUTEX_WAIT on a changed word");
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    check("sched_getaffinity", sched_getaffinity(0, sizeof cpus, &cpus) == 0 &&
          CPU_COUNT(&cpus) >= 1, "no CPU in the mask");
    check("setuid-root", setuid(0) == 0 && setgid(0) == 0 && getgroups(0, NULL) == 0,
          "root credentials");
}

/* Hostile arguments get Linux's errno, and nothing else happens. */
static void test_bad_input(void) {
    struct rlimit rl;
    errno = 0;
    check("bad-getrlimit", syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)8) == -1 &&
          errno == EFAULT, "getrlimit to a bad pointer");
    errno = 0;
    check("bad-prlimit", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, (void *)8, NULL) == -1 &&
          errno == EFAULT, "prlimit64 from a bad pointer");
    check("bad-prlimit-unchanged", getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 64,
          "a failed prlimit64 changed the limit");
    errno = 0;
    check("bad-sysinfo", syscall(SYS_sysinfo, (void *)8) == -1 && errno == EFAULT,
          "sysinfo to a bad pointer");
    errno = 0;
    check("bad-prctl", prctl(PR_GET_NAME, (void *)8) == -1 && errno == EFAULT,
          "PR_GET_NAME to a bad pointer");
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    errno = 0;
    check("bad-mprotect-huge", mprotect(p, 1UL << 46, PROT_READ) == -1 && errno == ENOMEM,
          "mprotect of a huge range");
    /* Linux changes the mapped part before the first hole, then fails. */
    check("bad-mprotect-partial", faults(p, 1) && fault_code == SEGV_ACCERR &&
          mprotect(p, page, PROT_READ | PROT_WRITE) == 0 && !faults(p, 1),
          "the part before the hole did not become read-only");
    signal(SIGSEGV, SIG_DFL);
    errno = 0;
    check("bad-mprotect-prot", mprotect(p, page, 0x40) == -1 && errno == EINVAL,
          "mprotect with an unknown bit");
    errno = 0;
    check("bad-madvise", madvise(p, page, 12345) == -1 && errno == EINVAL, "unknown advice");
    p[0] = 9;
    check("bad-calls-harmless", p[0] == 9, "the page changed");
    munmap(p, page);
    errno = 0;
    check("bad-futex", syscall(SYS_futex, (char *)&rl + 1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL,
          0) == -1 && errno == EINVAL, "FUTEX_WAKE on an unaligned word");
    errno = 0;
    check("bad-setpgid", setpgid(99999, 0) == -1 && errno == ESRCH, "setpgid of no process");
    errno = 0;
    check("bad-getgroups", syscall(SYS_getgroups, -1, NULL) == -1 && errno == EINVAL, "negative size");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    test_mprotect();
    test_rlimits();
    test_groups();
    test_misc();
    test_bad_input();
    printf("systest: %d ok, %d failed\n", passes, failures);
    return failures;
}
