package dev.scratchvm.x86;

/** struct kvm_vcpu_events, field by field. */
public record VcpuEvents(int exceptionInjected, int exceptionNr, int exceptionHasErrorCode,
                         int exceptionPending, int exceptionErrorCode,
                         int interruptInjected, int interruptNr, int interruptSoft, int interruptShadow,
                         int nmiInjected, int nmiPending, int nmiMasked,
                         int sipiVector, int flags,
                         int smiSmm, int smiPending, int smiInsideNmi, int smiLatchedInit,
                         int tripleFaultPending, int exceptionHasPayload, long exceptionPayload) {
}
