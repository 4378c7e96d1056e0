package dev.scratchvm.boot;

/**
 * Where the VMM puts its own structures in guest physical memory. Everything below
 * {@link #GUEST_BASE} belongs to the VMM: page 0 stays unmapped so a NULL dereference
 * faults, the tables are supervisor-only, and only the entry-stub page is visible to
 * the ring-3 program (read and execute).
 */
public final class BootLayout {
    private BootLayout() {
    }

    public static final long PML4 = 0x1000;
    public static final long PDPT = 0x2000;
    /** 4 KiB page table for the first 2 MiB (so page 0 and the VMM pages get their own rights). */
    public static final long LOW_PT = 0x3000;
    public static final long GDT = 0x4000;
    public static final long TSS = 0x4100;
    public static final long IDT = 0x5000;
    /** User-visible page with the SYSCALL entry stub and the exception stubs. */
    public static final long STUBS = 0x6000;
    public static final long SYSCALL_ENTRY = STUBS;
    public static final long EXCEPTION_STUBS = STUBS + 0x100;
    public static final int EXCEPTION_STUB_SIZE = 16;
    /** Ring-0 stack used when the CPU delivers an exception (TSS.RSP0 = its top). */
    public static final long FAULT_STACK = 0x7000;
    public static final long FAULT_STACK_TOP = 0x8000;
    /** 4 KiB page table for the 2 MiB that hold the guard page below the program's stack. */
    public static final long STACK_GUARD_PT = 0x8000;
    /** Page directories, one per GiB of guest memory. */
    public static final long PAGE_DIRECTORIES = 0x10000;
    public static final long MAX_MEMORY = 64L << 30;
    /** Lowest address the guest program owns. */
    public static final long GUEST_BASE = 0x200000;

    /** I/O ports the stubs use to reach the VMM. */
    public static final int SYSCALL_PORT = 0x10;
    public static final int EXCEPTION_PORT = 0x11;

    /** GDT selectors (RPL included for the user ones). */
    public static final int KERNEL_CS = 0x08, KERNEL_DS = 0x10, USER_DS = 0x1b, USER_CS = 0x23, TSS_SELECTOR = 0x28;

    /** Where a PIE (static-pie) executable is placed. */
    public static final long PIE_LOAD_BASE = 0x400000;
}
