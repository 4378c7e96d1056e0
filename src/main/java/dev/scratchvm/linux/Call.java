package dev.scratchvm.linux;

/** One guest system call: number and the six argument registers (rdi, rsi, rdx, r10, r8, r9). */
public record Call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
    int fd() {
        return (int) a0;
    }
}
