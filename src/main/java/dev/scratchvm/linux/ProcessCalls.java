package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.scratchvm.sys.Errno.*;

/** Process identity, TLS, randomness, prctl. */
final class ProcessCalls {
    private static final int ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;

    private final GuestArgs args;
    private final CpuAccess cpu;
    private final Trace trace;
    private static final int PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4, PR_SET_NAME = 15, PR_GET_NAME = 16;
    static final int COMM_LEN = 16;
    /** prctl's process name (comm) and dumpable flag; part of the saved state. */
    byte[] name = new byte[0];
    boolean dumpable = true;
    long clearChildTid;
    long robustList;

    ProcessCalls(GuestArgs args, CpuAccess cpu, Trace trace) {
        this.args = args;
        this.cpu = cpu;
        this.trace = trace;
    }

    void register(SyscallTable t) {
        t.register(Nr.GETPID, "getpid", c -> Libc.getpid());
        t.register(Nr.GETTID, "gettid", c -> Libc.getpid());
        t.register(Nr.GETPPID, "getppid", c -> 0);
        t.register(Nr.GETUID, "getuid", c -> Libc.ids()[0]);
        t.register(Nr.GETEUID, "geteuid", c -> Libc.ids()[1]);
        t.register(Nr.GETGID, "getgid", c -> Libc.ids()[2]);
        t.register(Nr.GETEGID, "getegid", c -> Libc.ids()[3]);
        t.registerTraced(Nr.ARCH_PRCTL, "arch_prctl", this::archPrctl);
        t.registerTraced(Nr.SET_TID_ADDRESS, "set_tid_address", c -> {
            clearChildTid = c.a0();
            return traced("SET_TID_ADDRESS " + Long.toHexString(c.a0()), Libc.getpid());
        });
        t.register(Nr.SET_ROBUST_LIST, "set_robust_list", c -> {
            if (c.a1() != 24) return -EINVAL;
            robustList = c.a0();
            return 0;
        });
        t.register(Nr.GETRANDOM, "getrandom", c -> {
            if ((c.a2() & ~7) != 0) return -EINVAL;
            return Libc.getrandom(args.output(c.a0(), c.a1()), c.a1(), (int) c.a2());
        });
        t.register(Nr.SCHED_YIELD, "sched_yield", c -> 0);
        t.register(Nr.SCHED_GETAFFINITY, "sched_getaffinity", c -> {
            if (c.a1() < 8) return -EINVAL;
            MemorySegment mask = args.output(c.a2(), 8);
            mask.fill((byte) 0);
            mask.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1); // one vCPU
            return 8;
        });
        t.register(Nr.RSEQ, "rseq", c -> -ENOSYS);
        t.register(Nr.PRCTL, "prctl", this::prctl);
    }

    private long prctl(Call c) {
        return switch ((int) c.a0()) {
            case PR_GET_DUMPABLE -> dumpable ? 1 : 0;
            case PR_SET_DUMPABLE -> {
                if (c.a1() != 0 && c.a1() != 1) yield -EINVAL;
                dumpable = c.a1() == 1;
                yield 0;
            }
            case PR_SET_NAME -> {
                // Up to 15 bytes, cut there as Linux cuts them, NUL-terminated in the 16-byte comm.
                byte[] comm = new byte[COMM_LEN - 1];
                int n = 0;
                while (n < comm.length) {
                    byte b = args.buffer(c.a1() + n, 1).get(ValueLayout.JAVA_BYTE, 0);
                    if (b == 0) break;
                    comm[n++] = b;
                }
                name = java.util.Arrays.copyOf(comm, n);
                yield 0;
            }
            case PR_GET_NAME -> {
                MemorySegment out = args.output(c.a1(), COMM_LEN);
                out.fill((byte) 0);
                MemorySegment.copy(name, 0, out, ValueLayout.JAVA_BYTE, 0, name.length);
                yield 0;
            }
            default -> -EINVAL;
        };
    }

    /** The name a new process gets: the last component of the file it was started from, cut to 15 bytes. */
    static byte[] commOf(String execfn) {
        byte[] b = execfn.substring(execfn.lastIndexOf('/') + 1).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(b, Math.min(b.length, COMM_LEN - 1));
    }

    private long traced(String text, long result) {
        trace.other(text, result);
        return result;
    }

    private long archPrctl(Call c) {
        int code = (int) c.a0();
        String label = "ARCH_PRCTL 0x" + Integer.toHexString(code) + " " + Long.toHexString(c.a1());
        long r = switch (code) {
            case ARCH_SET_FS -> {
                if (!canonical(c.a1())) yield -EPERM;
                cpu.setFsBase(c.a1());
                yield 0;
            }
            case ARCH_SET_GS -> {
                if (!canonical(c.a1())) yield -EPERM;
                cpu.setGsBase(c.a1());
                yield 0;
            }
            case ARCH_GET_FS -> {
                args.writeLong(c.a1(), cpu.fsBase());
                yield 0;
            }
            case ARCH_GET_GS -> {
                args.writeLong(c.a1(), cpu.gsBase());
                yield 0;
            }
            default -> -EINVAL;
        };
        return traced(label, r);
    }

    private static boolean canonical(long addr) {
        return addr >= 0 && addr < (1L << 47);
    }
}
