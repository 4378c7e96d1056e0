package dev.scratchvm.x86;

/** General purpose registers, rip and rflags: struct kvm_regs. */
public record Registers(long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
                        long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
                        long rip, long rflags) {
    public Registers withRax(long value) {
        return new Registers(value, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15,
                rip, rflags);
    }

    /** A register set with everything zero except the entry point, stack pointer and rflags bit 1. */
    public static Registers atEntry(long rip, long rsp) {
        return new Registers(0, 0, 0, 0, 0, 0, rsp, 0, 0, 0, 0, 0, 0, 0, 0, 0, rip, 0x2);
    }
}
