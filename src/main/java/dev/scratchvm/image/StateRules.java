package dev.scratchvm.image;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.state.MachineState;

/**
 * What a decoded state may mean, beyond the shape {@link StateLimits} checks. An image is
 * input from outside, and its checksums prove nothing about who wrote it: the rules make sure
 * no image can make the VMM do what a guest program could not (docs/image-format.md, "What a
 * state may contain"). {@link ImageReader} applies them before it returns, and the machine
 * applies them again before it builds anything from a state, whichever way it came.
 */
public final class StateRules {
    /** The VMM's 2 MiB plus at least 2 MiB for the program (LongMode's page tables need whole 2 MiB pages). */
    public static final long MIN_MEMORY_BYTES = 2 * BootLayout.GUEST_BASE;
    private static final long MEMORY_GRANULE = 2L << 20;

    private StateRules() {
    }

    /** Why a VM cannot have {@code size} bytes of memory, or null if it can. */
    public static String checkMemorySize(long size) {
        if (size < MIN_MEMORY_BYTES || size % MEMORY_GRANULE != 0 || size > BootLayout.MAX_MEMORY) {
            return "memory.size " + KernelRules.hex(size) + " is not a multiple of 2 MiB between 4 MiB and 64 GiB";
        }
        return null;
    }

    /** The first broken rule, naming the field (e.g. "kernel.brk_start 0x0 is outside ..."), or null. */
    public static String check(MachineState state) {
        long size = state.memory().size();
        String m = checkMemorySize(size);
        if (m != null) return m;
        String p = VcpuRules.check(state.vcpu(), size);
        return p != null ? p : KernelRules.check(state.kernel(), size);
    }

    /** The MSRs an image may hold (the VMM saves those of them its host offers). */
    public static java.util.List<Integer> savedMsrs() {
        return MsrRules.SAVED_MSRS;
    }
}
