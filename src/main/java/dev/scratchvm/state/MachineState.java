package dev.scratchvm.state;

/**
 * Everything about a stopped VM except the bytes of guest memory: the image and the
 * migration stream are this record plus memory. Every component produces its own
 * state record and can be rebuilt from it (the persist pattern).
 */
public record MachineState(VcpuState vcpu, MemoryState memory, KernelState kernel) {
}
