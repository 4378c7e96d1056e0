package dev.scratchvm.linux;

/** What the system call layer may change in the vCPU: the FS/GS bases behind arch_prctl. */
public interface CpuAccess {
    long fsBase();

    void setFsBase(long base);

    long gsBase();

    void setGsBase(long base);
}
