package dev.scratchvm.image;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the Linux personality's saved state may mean, one rule per field of the {@code kernel}
 * record (docs/image-format.md, "What a state may contain"). Every address must lie in the
 * guest's own memory, [2 MiB, memory size): the low 2 MiB hold the VMM's page tables, GDT,
 * TSS and IDT, and the VMM writes wherever the state points (a brk that shrinks, an mmap that
 * zeroes). Every path must be one the VMM itself would have saved.
 */
final class KernelRules {
    private static final long PAGE = 4096;
    private static final long USER_BASE = BootLayout.GUEST_BASE;
    /** PROT_READ | PROT_WRITE | PROT_EXEC. */
    private static final int PROT_BITS = 7;
    /** The guest fd table's size (linux.FdTable). */
    static final int MAX_GUEST_FD = 1024;
    /** Every flag Linux's open(2) knows on x86-64; the access mode may be 0-3. */
    private static final int OPEN_FLAGS = 03 | 0100 | 0200 | 0400 | 01000 | 02000 | 04000 | 010000 | 020000
            | 040000 | 0100000 | 0200000 | 0400000 | 01000000 | 02000000 | 04000000 | 010000000 | 020000000;
    private static final int O_PATH = 010000000, O_DIRECTORY = 0200000;
    private static final int SIGKILL = 9, SIGSTOP = 19;

    private KernelRules() {
    }

    /** The first broken rule, naming the field, or null. */
    static String check(KernelState k, long memorySize) {
        String p = brk(k, memorySize);
        if (p == null) p = mmapArea(k, memorySize);
        if (p == null) p = mappings(k.mappings(), memorySize);
        if (p == null) p = sharedFiles(k.mappings(), k.files());
        if (p == null) p = userPointer("kernel.clear_child_tid", k.clearChildTid(), 4, memorySize);
        if (p == null) p = userPointer("kernel.robust_list", k.robustList(), 24, memorySize);
        if (p == null) p = PathRules.problem("kernel.cwd", k.cwd());
        if (p == null) p = files(k.files());
        if (p == null) p = fds(k.fds());
        if (p == null) p = signals(k.signalActions());
        if (p == null) p = signalState(k.signals());
        if (p == null) p = WaitObjectRules.check(k);
        return p;
    }

    private static String brk(KernelState k, long size) {
        // brk() discards the pages between a lower break and the old one: both must be the guest's.
        if (k.brkStart() < USER_BASE || k.brkStart() > size) {
            return "kernel.brk_start " + hex(k.brkStart()) + " is outside guest memory " + range(size);
        }
        if (k.brk() < k.brkStart() || k.brk() > size) {
            return "kernel.brk " + hex(k.brk()) + " is not between brk_start " + hex(k.brkStart())
                    + " and the end of guest memory " + hex(size);
        }
        return null;
    }

    private static String mmapArea(KernelState k, long size) {
        if (k.mmapBase() < USER_BASE || k.mmapBase() > size) {
            return "kernel.mmap_base " + hex(k.mmapBase()) + " is outside guest memory " + range(size);
        }
        // The stack and its guard page lie above mmap_top, so it stays below the last page.
        if (k.mmapTop() < k.mmapBase() || k.mmapTop() > size - PAGE || k.mmapTop() % PAGE != 0) {
            return "kernel.mmap_top " + hex(k.mmapTop()) + " is not a page boundary between mmap_base "
                    + hex(k.mmapBase()) + " and " + hex(size - PAGE);
        }
        return null;
    }

    private static String mappings(List<Mapping> mappings, long size) {
        List<Mapping> sorted = new ArrayList<>(mappings);
        sorted.sort(Comparator.comparingLong(Mapping::start));
        for (int i = 0; i < mappings.size(); i++) {
            Mapping m = mappings.get(i);
            String field = "kernel.mappings[" + i + "]";
            if (m.start() % PAGE != 0 || m.start() < USER_BASE || m.start() >= size) {
                return field + ".start " + hex(m.start()) + " is not a page in guest memory " + range(size);
            }
            if (m.length() <= 0 || m.length() % PAGE != 0 || m.length() > size - m.start()) {
                return field + ".length " + hex(m.length()) + " is not a positive number of pages ending by " + hex(size);
            }
            if ((m.prot() & ~PROT_BITS) != 0) {
                return field + ".prot " + hex(m.prot()) + " has bits other than PROT_READ|PROT_WRITE|PROT_EXEC";
            }
            if (!m.shared() && (m.fileId() != -1 || m.fileOffset() != 0)) {
                return field + " is anonymous but has a file_id or file_offset";
            }
            if (m.shared() && (m.fileOffset() < 0 || m.fileOffset() % PAGE != 0 || m.fileOffset() > Long.MAX_VALUE - m.length())) {
                return field + ".file_offset " + hex(m.fileOffset()) + " is not a page-aligned offset with offset + length below 2^63";
            }
        }
        for (int i = 1; i < sorted.size(); i++) {
            Mapping a = sorted.get(i - 1), b = sorted.get(i);
            if (a.start() + a.length() > b.start()) {
                return "kernel.mappings: mapping at " + hex(a.start()) + " overlaps the one at " + hex(b.start());
            }
        }
        return null;
    }

    /** A shared mapping is mapped again from its file: a regular file the state opens for reading. */
    private static String sharedFiles(List<Mapping> mappings, List<OpenFileState> files) {
        java.util.Map<Integer, OpenFileState> byId = new java.util.HashMap<>();
        for (OpenFileState f : files) byId.putIfAbsent(f.id(), f);
        for (int i = 0; i < mappings.size(); i++) {
            Mapping m = mappings.get(i);
            if (!m.shared()) continue;
            String field = "kernel.mappings[" + i + "].file_id " + m.fileId();
            OpenFileState f = byId.get(m.fileId());
            if (f == null) return field + " names no file of kernel.files";
            boolean regular = f.kind() == FileKind.REGULAR || f.kind() == FileKind.GHOST;
            if (!regular || (f.flags() & O_PATH) != 0 || (f.flags() & 3) == 1) {
                return field + " is not a regular file open for reading";
            }
        }
        return null;
    }

    /** Registered user pointers: 0 (none) or an object inside guest memory. */
    private static String userPointer(String field, long addr, long bytes, long size) {
        if (addr == 0 || (addr >= USER_BASE && addr <= size - bytes)) return null;
        return field + " " + hex(addr) + " is neither 0 nor in guest memory " + range(size);
    }

    private static String files(List<OpenFileState> files) {
        for (OpenFileState f : files) {
            String field = "kernel.files[id " + f.id() + "]";
            boolean stdio = f.kind() == FileKind.STDIN || f.kind() == FileKind.STDOUT || f.kind() == FileKind.STDERR;
            if (WaitObjectRules.isVmmObject(f.kind())) {
                if (!f.path().isEmpty()) return field + ".path of a " + f.kind() + " must be empty";
            } else if (stdio) {
                if (!f.path().isEmpty()) return field + ".path of a standard stream must be empty";
            } else if (f.kind() == FileKind.MEMFD) {
                // A label, never opened by path: "/memfd:" and the guest's name for it.
                if (!f.path().startsWith("/memfd:")) return field + ".path " + f.path() + " of a memfd does not start with /memfd:";
            } else {
                // Devices too: re-opened under the root like files (the four ScratchVM offers map to the host's).
                String p = PathRules.problem(field + ".path", f.path());
                if (p != null) return p;
            }
            if ((f.flags() & ~OPEN_FLAGS) != 0) return field + ".flags " + hex(f.flags()) + " has unknown open flags";
            if ((f.mode() & ~07777) != 0) return field + ".mode " + Integer.toOctalString(f.mode()) + " is not a file mode";
            if (f.offset() < 0) return field + ".offset " + f.offset() + " is negative";
            if (f.kind() == FileKind.PROC && !f.path().equals("/proc") && !f.path().startsWith("/proc/")) {
                return field + ".path " + f.path() + " of a /proc file is not under /proc";
            }
            if (f.kind() != FileKind.PROC && f.kind() != FileKind.MEMFD && f.kind() != FileKind.GHOST && f.content().length > 0) {
                return field + ".content is only for /proc files, memfds and deleted files";
            }
            if (f.kind() == FileKind.GHOST && ((f.flags() & (O_PATH | O_DIRECTORY)) != 0 || (f.flags() & 3) == 3)) {
                return field + ".flags " + hex(f.flags()) + " of a deleted file must open it for reading or writing";
            }
            if (f.fingerprint().size() < -1) return field + ".fingerprint.size " + f.fingerprint().size() + " is negative";
            // Locks are taken again on the re-opened file: the VMM's own streams and O_PATH descriptors hold none.
            if (!f.locks().isEmpty() && (stdio || (f.flags() & O_PATH) != 0)) {
                return field + ".locks: a " + (stdio ? "standard stream" : "O_PATH descriptor") + " cannot hold locks";
            }
        }
        return null;
    }

    private static String fds(List<FdState> fds) {
        for (FdState d : fds) {
            if (d.fd() < 0 || d.fd() >= MAX_GUEST_FD) {
                return "kernel.fds: fd " + d.fd() + " is outside the guest's fd table (0 to " + (MAX_GUEST_FD - 1) + ")";
            }
        }
        return null;
    }

    private static String signals(List<SignalAction> actions) {
        Set<Integer> seen = new HashSet<>();
        for (SignalAction a : actions) {
            if (a.signal() == SIGKILL || a.signal() == SIGSTOP) {
                return "kernel.signal_actions: signal " + a.signal() + " cannot have a handler";
            }
            if (!seen.add(a.signal())) return "kernel.signal_actions: signal " + a.signal() + " appears twice";
        }
        return null;
    }

    /** The limits the Linux personality keeps itself (linux.Signals, linux.Timers). */
    private static final int MAX_TIMER_ID = 1023, MIN_ALT_STACK = 2048, SS_AUTODISARM = 1 << 31;
    private static final long UNBLOCKABLE = (1L << (SIGKILL - 1)) | (1L << (SIGSTOP - 1));
    private static final Set<Integer> CLOCKS = Set.of(0, 1, 7);
    private static final int SIGVTALRM = 26, SIGPROF = 27;

    private static String signalState(SignalState s) {
        if ((s.blocked() & UNBLOCKABLE) != 0) return "kernel.blocked_signals: SIGKILL and SIGSTOP cannot be blocked";
        long standard = 0;
        for (PendingSignal p : s.pending()) {
            if (p.signal() < 1 || p.signal() > 64) return "kernel.pending_signals: signal " + p.signal() + " out of range";
            long bit = 1L << (p.signal() - 1);
            if (p.signal() < 32 && (standard & bit) != 0) {
                return "kernel.pending_signals: standard signal " + p.signal() + " pending twice";
            }
            standard |= bit;
        }
        AltStack a = s.altStack();
        if (a != null) {
            if (a.size() < MIN_ALT_STACK) return "kernel.signal_alt_stack: size " + a.size() + " is below 2048";
            if (a.flags() != 0 && a.flags() != SS_AUTODISARM) return "kernel.signal_alt_stack: flags " + a.flags() + " unknown";
        }
        Set<Integer> ids = new HashSet<>();
        for (TimerState t : s.timers()) {
            String f = "kernel.timers[" + t.id() + "]";
            boolean onCpu = t.id() == TimerState.ITIMER_VIRTUAL || t.id() == TimerState.ITIMER_PROF;
            if (t.id() != TimerState.ITIMER_REAL && !onCpu && (t.id() < 0 || t.id() > MAX_TIMER_ID)) return f + ": id out of range";
            if (!ids.add(t.id())) return "kernel.timers: id " + t.id() + " appears twice";
            if (onCpu ? t.clock() != TimerState.CPU_CLOCK : !CLOCKS.contains(t.clock())) {
                return f + ": clock " + t.clock() + " unknown" + (onCpu ? " (ITIMER_VIRTUAL and ITIMER_PROF count CPU time: 2)" : "");
            }
            if (onCpu && t.signal() != (t.id() == TimerState.ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF)) {
                return f + ": signal " + t.signal() + " is not the one its itimer sends";
            }
            if (t.signal() < 0 || t.signal() > 64) return f + ": signal " + t.signal() + " out of range";
            if (t.remainingNanos() < 0 || t.intervalNanos() < 0 || t.overrun() < 0) return f + ": negative time or overrun";
        }
        return null;
    }

    static String range(long size) {
        return "[" + hex(USER_BASE) + ", " + hex(size) + ")";
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
