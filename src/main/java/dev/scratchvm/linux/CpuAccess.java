package dev.scratchvm.linux;

/** What the system call layer may change in the vCPU: the FS/GS bases behind arch_prctl; and what it may read. */
public interface CpuAccess {
    long fsBase();

    void setFsBase(long base);

    long gsBase();

    void setGsBase(long base);

    /** The CPUID the guest sees (for /proc/cpuinfo). */
    default java.util.List<dev.scratchvm.x86.CpuidEntry> cpuid() {
        return java.util.List.of();
    }
}
