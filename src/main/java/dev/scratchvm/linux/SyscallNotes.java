package dev.scratchvm.linux;

import java.util.Map;

/**
 * What a registered system call does not do yet, kept by hand next to the handlers and shown
 * in docs/compatibility.md. A call listed in {@link #PARTIAL} is served with the gaps named;
 * one in {@link #DECLINED} is registered only to answer ENOSYS on purpose. A call absent from
 * both is meant to behave as Linux does for a single-threaded process.
 */
final class SyscallNotes {
    private SyscallNotes() {
    }

    static final Map<String, String> PARTIAL = Map.ofEntries(
            Map.entry("mmap", "MAP_SHARED of a regular file maps the host file (coherent with read/write and other"
                    + " processes); of other files (devices, memfd) ENODEV; a store into a read-only shared mapping"
                    + " kills with SIGBUS, not SIGSEGV"),
            Map.entry("msync", "flushes shared file mappings (host msync); does not check that the range is mapped"),
            Map.entry("mknod", "FIFOs and regular files; devices and sockets EPERM (no CAP_MKNOD, no unix sockets)"),
            Map.entry("mknodat", "FIFOs and regular files; devices and sockets EPERM (no CAP_MKNOD, no unix sockets)"),
            Map.entry("mremap", "MREMAP_FIXED and MREMAP_DONTUNMAP give EINVAL"),
            Map.entry("madvise", "only MADV_DONTNEED acts (discards the pages); other advice is accepted and ignored"),
            Map.entry("ioctl", "terminal TCGETS, TIOCGWINSZ and TIOCGPGRP only, on standard I/O and devices; others ENOTTY"),
            Map.entry("fcntl", "F_DUPFD(_CLOEXEC), F_GETFD/F_SETFD, F_GETFL/F_SETFL (O_APPEND, O_NONBLOCK), record locks"
                    + " and pipe sizes; leases, notifications and seals give EINVAL"),
            Map.entry("epoll_ctl", "EPOLLET on a host fd (stdin, a device) acts level-triggered"),
            Map.entry("futex", "one thread: FUTEX_WAKE wakes nobody, FUTEX_WAIT returns on a changed value or a timeout;"
                    + " PI and FUTEX_WAKE_OP give ENOSYS"),
            Map.entry("prctl", "PR_SET_NAME/PR_GET_NAME and PR_SET_DUMPABLE/PR_GET_DUMPABLE only; other options EINVAL"),
            Map.entry("arch_prctl", "ARCH_SET_FS/GS and ARCH_GET_FS/GS only; other codes EINVAL"),
            Map.entry("kill", "only the process itself exists (its pid, 0 or -1); stop signals are dropped"),
            Map.entry("tkill", "as kill"),
            Map.entry("tgkill", "as kill"),
            Map.entry("setitimer", "ITIMER_VIRTUAL counts the time the vCPU spends running the guest (inside KVM_RUN),"
                    + " ITIMER_PROF the vCPU thread's CPU time (the guest's and the VMM's work on its calls); a CPU timer's"
                    + " first expiry gets Linux's extra tick as on a HZ=250 kernel (4 ms)"),
            Map.entry("getitimer", "as setitimer"),
            Map.entry("getppid", "0: the VM has no parent process"),
            Map.entry("getrlimit", "RLIMIT_NOFILE is enforced; the other limits are kept, saved and reported but not enforced"),
            Map.entry("setrlimit", "as getrlimit"),
            Map.entry("prlimit64", "as getrlimit; only the process itself (pid 0 or its own)"),
            Map.entry("signalfd", "as signalfd4"),
            Map.entry("signalfd4", "one queue of pending signals: a signal sent with tgkill/raise is read in signal order"
                    + " with those sent with kill, where Linux reads the thread's before the process's; ssi_utime, ssi_stime,"
                    + " ssi_status and ssi_addr stay 0"),
            Map.entry("memfd_create", "MFD_HUGETLB gives EINVAL; MFD_ALLOW_SEALING is accepted but seals (F_ADD_SEALS) are not;"
                    + " a memfd over 1 MiB cannot be saved; MAP_SHARED of it gives ENODEV"));

    static final Map<String, String> DECLINED = Map.ofEntries(
            Map.entry("rseq", "ENOSYS on purpose: the C libraries then go without restartable sequences"));
}
