package dev.scratchvm.linux;

/**
 * What the vCPU does after a system call: the kernel side decides, the VMM carries it
 * out on the registers (which the kernel side reaches only through {@link CpuAccess}).
 */
public sealed interface Control {
    /** Return {@code value} (a result or -errno) to the guest, as SYSRET would. */
    record Return(long value) implements Control {
    }

    /**
     * The call was cut short by a pause before it could finish: leave the guest about to
     * execute its {@code syscall} instruction again, with rax = {@code nr} (the same call,
     * or restart_syscall for a sleep that must only wait the time that was left).
     */
    record Restart(long nr) implements Control {
    }

    /**
     * The kernel side has set the program's registers itself (rt_sigreturn): resume it there,
     * in ring 3, without the usual SYSRET-like completion.
     */
    record Resume() implements Control {
    }

    /** exit or exit_group: the program ends with this status. */
    record Exit(int status) implements Control {
    }

    /** The guest asked to be saved (SAVE); it sees 0 returned when it runs again. */
    record Save() implements Control {
    }
}
