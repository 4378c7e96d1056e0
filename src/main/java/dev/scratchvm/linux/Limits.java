package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.ResourceLimit;

import java.util.ArrayList;
import java.util.List;

import static dev.scratchvm.sys.Errno.*;

/**
 * The process's resource limits (getrlimit, setrlimit, prlimit64) with the rules Linux applies
 * to an unprivileged process: a limit may always be lowered, the soft one raised up to the hard
 * one, the hard one never raised. The VMM's own maxima are the initial hard limits: the guest's
 * memory for RLIMIT_AS and RLIMIT_DATA, the stack area for RLIMIT_STACK, the fd table for
 * RLIMIT_NOFILE. RLIMIT_NOFILE is enforced (by the fd table); the others are kept and reported.
 */
final class Limits {
    static final int RLIMIT_DATA = 2, RLIMIT_STACK = 3, RLIMIT_NOFILE = 7, RLIMIT_AS = 9, RLIM_NLIMITS = 16;
    static final long RLIM_INFINITY = -1;

    private final GuestArgs args;
    private final FdTable fds;
    private final long[] initialSoft = new long[RLIM_NLIMITS], initialHard = new long[RLIM_NLIMITS];
    private final long[] soft = new long[RLIM_NLIMITS], hard = new long[RLIM_NLIMITS];

    Limits(GuestArgs args, FdTable fds, long memorySize, long stackSize) {
        this.args = args;
        this.fds = fds;
        java.util.Arrays.fill(initialSoft, RLIM_INFINITY);
        java.util.Arrays.fill(initialHard, RLIM_INFINITY);
        for (int r : new int[]{RLIMIT_AS, RLIMIT_DATA}) initialSoft[r] = initialHard[r] = memorySize;
        initialSoft[RLIMIT_STACK] = initialHard[RLIMIT_STACK] = stackSize;
        initialSoft[RLIMIT_NOFILE] = initialHard[RLIMIT_NOFILE] = FdTable.MAX_FDS;
        System.arraycopy(initialSoft, 0, soft, 0, RLIM_NLIMITS);
        System.arraycopy(initialHard, 0, hard, 0, RLIM_NLIMITS);
    }

    void register(SyscallTable t) {
        t.register(Nr.GETRLIMIT, "getrlimit", c -> {
            if (c.a0() < 0 || c.a0() >= RLIM_NLIMITS) return -EINVAL;
            write(c.a1(), (int) c.a0());
            return 0;
        });
        t.register(Nr.SETRLIMIT, "setrlimit", c -> {
            long newSoft = args.readLong(c.a1()), newHard = args.readLong(c.a1() + 8);
            if (c.a0() < 0 || c.a0() >= RLIM_NLIMITS) return -EINVAL;
            return set((int) c.a0(), newSoft, newHard);
        });
        t.register(Nr.PRLIMIT64, "prlimit64", this::prlimit);
    }

    private long prlimit(Call c) {
        long newSoft = 0, newHard = 0;
        if (c.a2() != 0) {
            newSoft = args.readLong(c.a2());
            newHard = args.readLong(c.a2() + 8);
        }
        int pid = (int) c.a0();
        if (pid != 0 && pid != dev.scratchvm.sys.Libc.getpid()) return -ESRCH;
        if (c.a1() < 0 || c.a1() >= RLIM_NLIMITS) return -EINVAL;
        int resource = (int) c.a1();
        long oldSoft = soft[resource], oldHard = hard[resource];
        if (c.a2() != 0) {
            long r = set(resource, newSoft, newHard);
            if (r < 0) return r;
        }
        if (c.a3() != 0) {
            args.writeLong(c.a3(), oldSoft);
            args.writeLong(c.a3() + 8, oldHard);
        }
        return 0;
    }

    /** As the kernel's do_prlimit for a process without CAP_SYS_RESOURCE. */
    private long set(int resource, long newSoft, long newHard) {
        if (Long.compareUnsigned(newSoft, newHard) > 0) return -EINVAL;
        if (Long.compareUnsigned(newHard, hard[resource]) > 0) return -EPERM;
        soft[resource] = newSoft;
        hard[resource] = newHard;
        if (resource == RLIMIT_NOFILE) applyNofile();
        return 0;
    }

    private void write(long addr, int resource) {
        args.output(addr, 16);
        args.writeLong(addr, soft[resource]);
        args.writeLong(addr + 8, hard[resource]);
    }

    private void applyNofile() {
        long n = soft[RLIMIT_NOFILE];
        fds.setLimit(Long.compareUnsigned(n, FdTable.MAX_FDS) >= 0 ? FdTable.MAX_FDS : (int) n);
    }

    /** The limits that differ from the initial ones, for the saved state. */
    List<ResourceLimit> changed() {
        List<ResourceLimit> out = new ArrayList<>();
        for (int r = 0; r < RLIM_NLIMITS; r++) {
            if (soft[r] != initialSoft[r] || hard[r] != initialHard[r]) out.add(new ResourceLimit(r, soft[r], hard[r]));
        }
        return out;
    }

    /** Sets saved limits again; one above this VMM's maximum is refused, as raising it would be. */
    void restore(List<ResourceLimit> saved) throws KernelRestoreException {
        for (ResourceLimit l : saved) {
            if (l.resource() < 0 || l.resource() >= RLIM_NLIMITS) {
                throw new KernelRestoreException("resource limit " + l.resource() + " is not a resource");
            }
            if (Long.compareUnsigned(l.soft(), l.hard()) > 0 || Long.compareUnsigned(l.hard(), initialHard[l.resource()]) > 0) {
                throw new KernelRestoreException("resource limit " + l.resource() + " (" + Long.toUnsignedString(l.soft()) + ", "
                        + Long.toUnsignedString(l.hard()) + ") is not within this VM's maximum "
                        + Long.toUnsignedString(initialHard[l.resource()]));
            }
            soft[l.resource()] = l.soft();
            hard[l.resource()] = l.hard();
        }
        applyNofile();
    }
}
