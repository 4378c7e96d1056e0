package dev.scratchvm.linux;

import dev.scratchvm.x86.Registers;

/**
 * What the system call layer may read and change in the vCPU, in typed form: the FS/GS
 * bases behind arch_prctl, and the program's registers and FPU state that signal delivery
 * saves in a frame and rt_sigreturn puts back. The VMM owns where the values live.
 */
public interface CpuAccess {
    long fsBase();

    void setFsBase(long base);

    long gsBase();

    void setGsBase(long base);

    /** The program's general registers, rip and rflags as it will resume (after a call: with its result). */
    Registers registers();

    /** Replaces them; the vCPU resumes the program at the new rip, in ring 3. */
    void setRegisters(Registers registers);

    /** The FPU/SSE/AVX state as XSAVE stores it (standard format: legacy area, header, components). */
    byte[] fpuState();

    void setFpuState(byte[] xsave);

    /** How many bytes of {@link #fpuState} the enabled features use (CPUID 0xD for XCR0); at least 576. */
    int fpuStateSize();

    /** XCR0: the state components the program may use. */
    long fpuFeatures();

    /** The code and stack selectors of the program's ring 3, as a signal frame records them. */
    int userCodeSelector();

    int userStackSelector();

    /**
     * Pulls the vCPU out of the guest soon, from any thread, without stopping the VM: a
     * timer expired and its signal must be delivered while the program computes.
     */
    void interruptGuest();

    /** The CPUID the guest sees (for /proc/cpuinfo). */
    default java.util.List<dev.scratchvm.x86.CpuidEntry> cpuid() {
        return java.util.List.of();
    }
}
