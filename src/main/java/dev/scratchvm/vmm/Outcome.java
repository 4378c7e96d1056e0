package dev.scratchvm.vmm;

/** How a run of the guest ended. */
public sealed interface Outcome {
    /** The program called exit_group / exit. */
    record Exited(int status) implements Outcome {
    }

    /** The program was terminated by a signal it raised (abort, kill of itself) or a CPU fault. */
    record Killed(int signal, String reason) implements Outcome {
        /** The shell's convention: 128 + signal number. */
        public int exitCode() {
            return 128 + signal;
        }
    }

    /** The program asked for SAVE; the vCPU is stopped at a consistent point. */
    record SaveRequested() implements Outcome {
    }

    /**
     * {@link Machine#kick} took the vCPU out of the guest: act on whatever asked for it,
     * then run again (the guest continues as if nothing happened).
     */
    record Interrupted() implements Outcome {
    }

    /** The VM cannot continue (triple fault, failed entry, unexpected exit). */
    record Failed(String reason) implements Outcome {
    }
}
