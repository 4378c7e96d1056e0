package dev.scratchvm.x86;

/** One entry of the CPUID table: struct kvm_cpuid_entry2. */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {
}
