package dev.scratchvm.kvm;

/**
 * Why {@code KVM_RUN} returned: one record per exit reason the VMM distinguishes.
 * Payloads are copied out of kvm_run, so they stay valid after the next run.
 */
public sealed interface VmExit {
    /** KVM_EXIT_IO: the guest executed in/out. {@code data} holds up to 8 bytes of an out. */
    record Io(int port, boolean out, int size, int count, long data) implements VmExit {
    }

    /** KVM_EXIT_HLT. */
    record Halt() implements VmExit {
    }

    /** KVM_EXIT_SHUTDOWN: triple fault. */
    record Shutdown() implements VmExit {
    }

    /** KVM_EXIT_FAIL_ENTRY: the vCPU state was rejected by the hardware. */
    record FailEntry(long hardwareReason) implements VmExit {
    }

    /** KVM_EXIT_INTERNAL_ERROR, e.g. an instruction KVM's emulator cannot handle. */
    record InternalError(int suberror) implements VmExit {
    }

    /** KVM_EXIT_MMIO: access to guest physical memory that no slot backs. */
    record Mmio(long physAddr, boolean write, int length) implements VmExit {
    }

    /** KVM_RUN returned EINTR (a signal, or immediate_exit was set). */
    record Interrupted() implements VmExit {
    }

    /**
     * KVM_RUN failed with EFAULT: the host could not provide a page of the memory slot (a
     * page of a MAP_SHARED file mapping past the end of the file, where the host would SIGBUS).
     */
    record BadAddress() implements VmExit {
    }

    /** Any other exit reason. */
    record Other(int reason) implements VmExit {
    }

    /** A one-line description for error messages. */
    default String describe() {
        return switch (this) {
            case Io io -> "unexpected port I/O (" + (io.out() ? "out" : "in") + " port 0x" + Integer.toHexString(io.port()) + ")";
            case Halt h -> "guest halted";
            case Shutdown s -> "guest triple fault (shutdown)";
            case FailEntry f -> "VM entry failed (hardware reason 0x" + Long.toHexString(f.hardwareReason()) + ")";
            case InternalError e -> "KVM internal error (suberror " + e.suberror() + (e.suberror() == 1 ? ": emulation failed" : "") + ")";
            case Mmio m -> "access to unbacked guest physical address 0x" + Long.toHexString(m.physAddr());
            case Interrupted i -> "interrupted";
            case BadAddress b -> "the host could not provide a page of guest memory";
            case Other o -> "unhandled VM exit reason " + o.reason();
        };
    }
}
