package dev.scratchvm.x86;

/** GDTR or IDTR: struct kvm_dtable. */
public record DescriptorTable(long base, int limit) {
}
