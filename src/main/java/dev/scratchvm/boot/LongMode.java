package dev.scratchvm.boot;

import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Xcr;
import dev.scratchvm.x86.DescriptorTable;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;

import java.util.List;

import static dev.scratchvm.boot.BootLayout.*;

/**
 * Builds the 64-bit environment the program starts in: identity-mapped page tables,
 * a GDT with ring-0 and ring-3 segments and a TSS, an IDT whose handlers report the
 * fault to the VMM, and the SYSCALL entry stub.
 */
public final class LongMode {
    private static final long PRESENT = 1, WRITABLE = 2, USER = 4, HUGE = 0x80;
    private static final long CR0_PE = 1, CR0_MP = 2, CR0_ET = 0x10, CR0_NE = 0x20, CR0_PG = 1L << 31;
    private static final long CR4_PAE = 0x20, CR4_OSFXSR = 0x200, CR4_OSXMMEXCPT = 0x400, CR4_OSXSAVE = 0x40000;
    private static final long EFER_SCE = 1, EFER_LME = 0x100, EFER_LMA = 0x400;
    /** No-execute enable: bit 63 of a page-table entry forbids instruction fetches (PageTables). */
    public static final long EFER_NXE = 0x800;
    public static final int MSR_STAR = 0xC0000081, MSR_LSTAR = 0xC0000082, MSR_CSTAR = 0xC0000083, MSR_SFMASK = 0xC0000084;
    /** RFLAGS bits cleared on SYSCALL: TF, IF, DF, as Linux does. */
    private static final long SFMASK = 0x700;
    /** 104-byte 64-bit TSS plus a 3-byte I/O bitmap (ports 0-23) and its 0xff terminator. */
    private static final int TSS_LIMIT = 0x68 + 4 - 1;

    private LongMode() {
    }

    /** Writes page tables, GDT, TSS, IDT and stubs into the VMM-owned low memory. */
    public static void writeTables(GuestMemory memory) {
        long size = memory.size();
        if (size % (2 << 20) != 0 || size < 2 * GUEST_BASE || size > MAX_MEMORY) {
            throw new IllegalArgumentException("guest memory must be a multiple of 2 MiB between 4 MiB and 64 GiB");
        }
        writePageTables(memory, size);
        writeGdtAndTss(memory);
        writeIdtAndStubs(memory);
    }

    /**
     * Puts the VMM's low 2 MiB back exactly as boot leaves them, whatever they held: on restore
     * they come from the image, which is input, and page tables, GDT, TSS (with its I/O bitmap),
     * IDT and stubs taken from it could map the VMM's pages into ring 3 or send an exception to
     * code of the image's choosing. Everything is cleared first, so no stale entry (a page
     * directory pointer beyond guest memory, say) survives. {@code guardPage} is the page below
     * the stack that boot made absent ({@link #unmapGuardPage}).
     */
    public static void rewriteTables(GuestMemory memory, long guardPage) {
        memory.zeroWhereNonZero(0, GUEST_BASE);
        writeTables(memory);
        unmapGuardPage(memory, guardPage);
    }

    private static void writePageTables(GuestMemory m, long size) {
        m.writeLong(PML4, PDPT | PRESENT | WRITABLE | USER);
        long gibs = (size + (1L << 30) - 1) >> 30;
        for (long g = 0; g < gibs; g++) {
            long pd = PAGE_DIRECTORIES + g * 4096;
            m.writeLong(PDPT + 8 * g, pd | PRESENT | WRITABLE | USER);
            for (long e = 0; e < 512; e++) {
                long addr = (g << 30) + (e << 21);
                if (addr >= size) break;
                m.writeLong(pd + 8 * e, addr | PRESENT | WRITABLE | USER | HUGE);
            }
        }
        // The first 2 MiB through 4 KiB pages: VMM tables supervisor-only, stubs user
        // read-only, page 0 and the rest absent.
        m.writeLong(PAGE_DIRECTORIES, LOW_PT | PRESENT | WRITABLE | USER);
        for (long page : new long[]{PML4, PDPT, LOW_PT, GDT, IDT, FAULT_STACK}) {
            m.writeLong(LOW_PT + 8 * (page >> 12), page | PRESENT | WRITABLE);
        }
        m.writeLong(LOW_PT + 8 * (STUBS >> 12), STUBS | PRESENT | USER);
    }

    /**
     * Makes one page absent so that touching it faults: the page below the stack, which
     * the address space never hands out, so a stack overflow stops there instead of running
     * on through the mappings, the heap and the program. Its 2 MiB page is split into 4 KiB
     * pages for this. Call after {@link #writeTables}.
     */
    public static void unmapGuardPage(GuestMemory m, long page) {
        long big = page & ~((2L << 20) - 1);
        if (big < GUEST_BASE || page + 4096 > m.size()) {
            throw new IllegalArgumentException("no guard page possible at 0x" + Long.toHexString(page));
        }
        for (long i = 0; i < 512; i++) {
            long addr = big + (i << 12);
            m.writeLong(STACK_GUARD_PT + 8 * i, addr == page ? 0 : addr | PRESENT | WRITABLE | USER);
        }
        long pde = PAGE_DIRECTORIES + (big >> 30) * 4096 + (big >> 21 & 511) * 8;
        m.writeLong(pde, STACK_GUARD_PT | PRESENT | WRITABLE | USER);
    }

    private static void writeGdtAndTss(GuestMemory m) {
        m.writeLong(GDT, 0);
        m.writeLong(GDT + KERNEL_CS, 0x00209A0000000000L);
        m.writeLong(GDT + KERNEL_DS, 0x0000920000000000L);
        m.writeLong(GDT + (USER_DS & ~3), 0x0000F20000000000L);
        m.writeLong(GDT + (USER_CS & ~3), 0x0020FA0000000000L);
        long limit = TSS_LIMIT, base = TSS;
        long low = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89L << 40) | ((base >>> 24 & 0xff) << 56);
        m.writeLong(GDT + TSS_SELECTOR, low);
        m.writeLong(GDT + TSS_SELECTOR + 8, base >>> 32);
        m.writeLong(TSS + 4, FAULT_STACK_TOP);                 // RSP0
        // I/O permission bitmap right after the 104-byte TSS: ring 3 may use the system call
        // port and nothing else (a set bit denies; ports beyond the bitmap are denied too).
        m.writeShort(TSS + 0x66, (short) 0x68);
        int allowed = 1 << SYSCALL_PORT;
        m.write(TSS + 0x68, new byte[]{(byte) ~allowed, (byte) (~allowed >> 8), (byte) (~allowed >> 16), (byte) 0xff});
    }

    private static void writeIdtAndStubs(GuestMemory m) {
        // SYSCALL entry: "out %al, $SYSCALL_PORT". The VMM completes the call itself
        // (rax = result, rip = rcx, rflags = r11), so no sysretq is needed.
        m.write(SYSCALL_ENTRY, new byte[]{(byte) 0xe6, (byte) SYSCALL_PORT});
        for (int vector = 0; vector < 32; vector++) {
            long stub = EXCEPTION_STUBS + (long) vector * EXCEPTION_STUB_SIZE;
            // push %rax; mov $vector, %al; out %al, $EXCEPTION_PORT; hlt; jmp .
            // (rax is kept on the ring-0 stack so that a signal handler gets the program's own)
            m.write(stub, new byte[]{(byte) 0x50, (byte) 0xb0, (byte) vector, (byte) 0xe6, (byte) EXCEPTION_PORT,
                    (byte) 0xf4, (byte) 0xeb, (byte) 0xfe});
            long gate = IDT + 16L * vector;
            long low = (stub & 0xffff) | ((long) KERNEL_CS << 16) | (0x8EL << 40) | ((stub >>> 16 & 0xffff) << 48);
            m.writeLong(gate, low);
            m.writeLong(gate + 8, stub >>> 32);
        }
    }

    /**
     * Puts a fresh vCPU into 64-bit ring 3: CPUID passed through, long-mode special
     * registers, XCR0 for every state component the host supports, SYSCALL MSRs. The
     * tables must already be in memory ({@link #writeTables}).
     */
    public static void configure(Vcpu vcpu, List<CpuidEntry> cpuid, long xcr0) {
        vcpu.setCpuid(cpuid);
        SpecialRegisters s = sregs(vcpu.registers().sregs());
        vcpu.registers().setSregs(hasNx(cpuid) ? s.withEfer(s.efer() | EFER_NXE) : s);
        vcpu.setXcrs(List.of(new Xcr(0, xcr0)));
        vcpu.setMsrs(syscallMsrs());
    }

    private static final Segment USER_CODE = new Segment(0, 0xffffffff, USER_CS, 11, 1, 3, 0, 1, 1, 1, 0, 0);
    private static final Segment USER_DATA = new Segment(0, 0xffffffff, USER_DS, 3, 1, 3, 1, 1, 0, 1, 0, 0);

    /** The same registers with CS and SS back at ring 3, as SYSRET would leave them. */
    public static SpecialRegisters backToRing3(SpecialRegisters s) {
        return s.withCodeAndStack(USER_CODE, USER_DATA);
    }

    /** Special registers for 64-bit ring 3 with paging, SSE and XSAVE enabled. */
    public static SpecialRegisters sregs(SpecialRegisters initial) {
        Segment tss = new Segment(TSS, TSS_LIMIT, TSS_SELECTOR, 11, 1, 0, 0, 0, 0, 0, 0, 0);
        return new SpecialRegisters(USER_CODE, USER_DATA, USER_DATA, USER_DATA, USER_DATA, USER_DATA, tss, initial.ldt(),
                new DescriptorTable(GDT, 7 * 8 - 1), new DescriptorTable(IDT, 32 * 16 - 1),
                CR0_PG | CR0_NE | CR0_ET | CR0_MP | CR0_PE, 0, PML4,
                CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE, 0,
                EFER_SCE | EFER_LME | EFER_LMA, initial.apicBase(), List.of(0L, 0L, 0L, 0L));
    }

    /** CPUID 0x80000001 EDX bit 20: the CPU has the no-execute bit (EFER.NXE). */
    static boolean hasNx(List<CpuidEntry> cpuid) {
        for (CpuidEntry e : cpuid) if (e.function() == 0x80000001 && (e.edx() & (1 << 20)) != 0) return true;
        return false;
    }

    /** SYSCALL MSRs: STAR selects the segments, LSTAR the entry stub. */
    public static List<Msr> syscallMsrs() {
        long star = ((long) KERNEL_DS << 48) | ((long) KERNEL_CS << 32);
        return List.of(new Msr(MSR_STAR, star), new Msr(MSR_LSTAR, SYSCALL_ENTRY), new Msr(MSR_CSTAR, SYSCALL_ENTRY),
                new Msr(MSR_SFMASK, SFMASK));
    }

    /** Segment registers a ring-3 program runs with (restored if SYSCALL changed them). */
    public static boolean isUserCode(int csSelector) {
        return csSelector == USER_CS;
    }
}
