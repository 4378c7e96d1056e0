package dev.scratchvm.kvm;

import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.DescriptorTable;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Layouts of the KVM structs the VMM exchanges with the kernel (linux/kvm.h,
 * asm/kvm.h, x86-64), and their conversion to and from the state records. Sizes are
 * checked at class load so a layout mistake fails loudly instead of corrupting state.
 */
public final class Structs {
    private Structs() {
    }

    static final String[] GPR_NAMES = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"};

    public static final StructLayout REGS = structLayout(
            java.util.Arrays.stream(GPR_NAMES).map(n -> JAVA_LONG.withName(n)).toArray(MemoryLayout[]::new));

    static final StructLayout SEGMENT = structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"), JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"), JAVA_BYTE.withName("g"),
            JAVA_BYTE.withName("avl"), JAVA_BYTE.withName("unusable"), paddingLayout(1));

    static final StructLayout DTABLE = structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"), paddingLayout(6));

    static final String[] SEGMENT_NAMES = {"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"};

    public static final StructLayout SREGS = structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"), SEGMENT.withName("fs"),
            SEGMENT.withName("gs"), SEGMENT.withName("ss"), SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"),
            JAVA_LONG.withName("cr4"), JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"),
            JAVA_LONG.withName("apic_base"), sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));

    static final StructLayout EVENTS = structLayout(
            JAVA_BYTE.withName("exception.injected"), JAVA_BYTE.withName("exception.nr"),
            JAVA_BYTE.withName("exception.has_error_code"), JAVA_BYTE.withName("exception.pending"),
            JAVA_INT.withName("exception.error_code"),
            JAVA_BYTE.withName("interrupt.injected"), JAVA_BYTE.withName("interrupt.nr"),
            JAVA_BYTE.withName("interrupt.soft"), JAVA_BYTE.withName("interrupt.shadow"),
            JAVA_BYTE.withName("nmi.injected"), JAVA_BYTE.withName("nmi.pending"),
            JAVA_BYTE.withName("nmi.masked"), paddingLayout(1),
            JAVA_INT.withName("sipi_vector"), JAVA_INT.withName("flags"),
            JAVA_BYTE.withName("smi.smm"), JAVA_BYTE.withName("smi.pending"),
            JAVA_BYTE.withName("smi.smm_inside_nmi"), JAVA_BYTE.withName("smi.latched_init"),
            JAVA_BYTE.withName("triple_fault.pending"), paddingLayout(26),
            JAVA_BYTE.withName("exception_has_payload"), JAVA_LONG.withName("exception_payload"));

    static final StructLayout DEBUGREGS = structLayout(
            sequenceLayout(4, JAVA_LONG).withName("db"), JAVA_LONG.withName("dr6"), JAVA_LONG.withName("dr7"),
            JAVA_LONG.withName("flags"), paddingLayout(9 * 8));

    static final StructLayout MEMORY_REGION = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"), JAVA_LONG.withName("guest_phys_addr"),
            JAVA_LONG.withName("memory_size"), JAVA_LONG.withName("userspace_addr"));

    /** KVM_GET_DIRTY_LOG's argument; the bitmap pointer is a union with a u64 padding. */
    static final StructLayout DIRTY_LOG = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("padding1"), JAVA_LONG.withName("dirty_bitmap"));

    static final StructLayout CLEAR_DIRTY_LOG = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("num_pages"), JAVA_LONG.withName("first_page"),
            JAVA_LONG.withName("dirty_bitmap"));

    static final StructLayout ENABLE_CAP = structLayout(
            JAVA_INT.withName("cap"), JAVA_INT.withName("flags"), sequenceLayout(4, JAVA_LONG).withName("args"),
            sequenceLayout(64, JAVA_BYTE).withName("pad"));

    static final StructLayout CPUID_ENTRY = structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            paddingLayout(12));

    static final StructLayout MSR_ENTRY = structLayout(
            JAVA_INT.withName("index"), paddingLayout(4), JAVA_LONG.withName("data"));

    /** struct kvm_cpuid2, struct kvm_msrs and struct kvm_msr_list: a 32-bit count, then entries. */
    static final long KVM_CPUID2_HEADER = 8, KVM_MSRS_HEADER = 8, KVM_MSR_LIST_HEADER = 4;
    /** struct kvm_xsave (the legacy 4 KiB region) and struct kvm_xcrs. */
    static final long XSAVE_SIZE = 4096, XCRS_SIZE = 392;

    static {
        check(REGS, 144);
        check(SEGMENT, 24);
        check(SREGS, 312);
        check(EVENTS, 64);
        check(DEBUGREGS, 128);
        check(MEMORY_REGION, 32);
        check(CPUID_ENTRY, 40);
        check(MSR_ENTRY, 16);
    }

    private static void check(StructLayout layout, long size) {
        if (layout.byteSize() != size) throw new ExceptionInInitializerError(layout + " is not " + size + " bytes");
    }

    static long offset(StructLayout layout, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) elements[i] = groupElement(path[i]);
        return layout.byteOffset(elements);
    }

    // ---- kvm_regs ----------------------------------------------------------------------

    public static Registers readRegs(MemorySegment s) {
        long[] r = s.asSlice(0, REGS.byteSize()).toArray(JAVA_LONG);
        return new Registers(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                r[12], r[13], r[14], r[15], r[16], r[17]);
    }

    public static void writeRegs(MemorySegment s, Registers r) {
        long[] v = {r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(),
                r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), r.rip(), r.rflags()};
        MemorySegment.copy(v, 0, s, JAVA_LONG, 0, v.length);
    }

    // ---- kvm_sregs ---------------------------------------------------------------------

    private static Segment readSegment(MemorySegment s, long at) {
        return new Segment(s.get(JAVA_LONG, at), s.get(JAVA_INT, at + 8), Short.toUnsignedInt(s.get(JAVA_SHORT, at + 12)),
                b(s, at + 14), b(s, at + 15), b(s, at + 16), b(s, at + 17), b(s, at + 18), b(s, at + 19),
                b(s, at + 20), b(s, at + 21), b(s, at + 22));
    }

    private static void writeSegment(MemorySegment s, long at, Segment g) {
        s.set(JAVA_LONG, at, g.base());
        s.set(JAVA_INT, at + 8, g.limit());
        s.set(JAVA_SHORT, at + 12, (short) g.selector());
        int[] bytes = {g.type(), g.present(), g.dpl(), g.db(), g.s(), g.l(), g.g(), g.avl(), g.unusable()};
        for (int i = 0; i < bytes.length; i++) s.set(JAVA_BYTE, at + 14 + i, (byte) bytes[i]);
        s.set(JAVA_BYTE, at + 23, (byte) 0);
    }

    private static int b(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(JAVA_BYTE, at));
    }

    public static SpecialRegisters readSregs(MemorySegment s) {
        Segment[] seg = new Segment[8];
        for (int i = 0; i < 8; i++) seg[i] = readSegment(s, offset(SREGS, SEGMENT_NAMES[i]));
        long gdt = offset(SREGS, "gdt"), idt = offset(SREGS, "idt"), cr0 = offset(SREGS, "cr0");
        List<Long> bitmap = new ArrayList<>(4);
        for (int i = 0; i < 4; i++) bitmap.add(s.get(JAVA_LONG, offset(SREGS, "interrupt_bitmap") + 8L * i));
        return new SpecialRegisters(seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6], seg[7],
                new DescriptorTable(s.get(JAVA_LONG, gdt), Short.toUnsignedInt(s.get(JAVA_SHORT, gdt + 8))),
                new DescriptorTable(s.get(JAVA_LONG, idt), Short.toUnsignedInt(s.get(JAVA_SHORT, idt + 8))),
                s.get(JAVA_LONG, cr0), s.get(JAVA_LONG, cr0 + 8), s.get(JAVA_LONG, cr0 + 16),
                s.get(JAVA_LONG, cr0 + 24), s.get(JAVA_LONG, cr0 + 32), s.get(JAVA_LONG, cr0 + 40),
                s.get(JAVA_LONG, cr0 + 48), bitmap);
    }

    public static void writeSregs(MemorySegment s, SpecialRegisters r) {
        s.asSlice(0, SREGS.byteSize()).fill((byte) 0);
        Segment[] seg = {r.cs(), r.ds(), r.es(), r.fs(), r.gs(), r.ss(), r.tr(), r.ldt()};
        for (int i = 0; i < 8; i++) writeSegment(s, offset(SREGS, SEGMENT_NAMES[i]), seg[i]);
        long gdt = offset(SREGS, "gdt"), idt = offset(SREGS, "idt"), cr0 = offset(SREGS, "cr0");
        s.set(JAVA_LONG, gdt, r.gdt().base());
        s.set(JAVA_SHORT, gdt + 8, (short) r.gdt().limit());
        s.set(JAVA_LONG, idt, r.idt().base());
        s.set(JAVA_SHORT, idt + 8, (short) r.idt().limit());
        long[] crs = {r.cr0(), r.cr2(), r.cr3(), r.cr4(), r.cr8(), r.efer(), r.apicBase()};
        for (int i = 0; i < crs.length; i++) s.set(JAVA_LONG, cr0 + 8L * i, crs[i]);
        for (int i = 0; i < 4; i++) s.set(JAVA_LONG, offset(SREGS, "interrupt_bitmap") + 8L * i, r.interruptBitmap().get(i));
    }

    /** Offset of a segment's base inside kvm_sregs (used on the exit path for FS). */
    static final long SREGS_FS_BASE = offset(SREGS, "fs");
    static final long SREGS_CS = offset(SREGS, "cs");
    static final long SREGS_SS = offset(SREGS, "ss");

    // ---- kvm_vcpu_events ---------------------------------------------------------------

    public static VcpuEvents readEvents(MemorySegment s) {
        return new VcpuEvents(b(s, 0), b(s, 1), b(s, 2), b(s, 3), s.get(JAVA_INT, 4),
                b(s, 8), b(s, 9), b(s, 10), b(s, 11), b(s, 12), b(s, 13), b(s, 14),
                s.get(JAVA_INT, 16), s.get(JAVA_INT, 20), b(s, 24), b(s, 25), b(s, 26), b(s, 27), b(s, 28),
                b(s, 55), s.get(JAVA_LONG, 56));
    }

    public static void writeEvents(MemorySegment s, VcpuEvents e) {
        s.asSlice(0, EVENTS.byteSize()).fill((byte) 0);
        int[] head = {e.exceptionInjected(), e.exceptionNr(), e.exceptionHasErrorCode(), e.exceptionPending()};
        for (int i = 0; i < 4; i++) s.set(JAVA_BYTE, i, (byte) head[i]);
        s.set(JAVA_INT, 4, e.exceptionErrorCode());
        int[] mid = {e.interruptInjected(), e.interruptNr(), e.interruptSoft(), e.interruptShadow(),
                e.nmiInjected(), e.nmiPending(), e.nmiMasked()};
        for (int i = 0; i < mid.length; i++) s.set(JAVA_BYTE, 8 + i, (byte) mid[i]);
        s.set(JAVA_INT, 16, e.sipiVector());
        s.set(JAVA_INT, 20, e.flags());
        int[] smi = {e.smiSmm(), e.smiPending(), e.smiInsideNmi(), e.smiLatchedInit(), e.tripleFaultPending()};
        for (int i = 0; i < smi.length; i++) s.set(JAVA_BYTE, 24 + i, (byte) smi[i]);
        s.set(JAVA_BYTE, 55, (byte) e.exceptionHasPayload());
        s.set(JAVA_LONG, 56, e.exceptionPayload());
    }

    // ---- kvm_debugregs -----------------------------------------------------------------

    public static DebugRegisters readDebugRegs(MemorySegment s) {
        return new DebugRegisters(List.of(s.get(JAVA_LONG, 0), s.get(JAVA_LONG, 8), s.get(JAVA_LONG, 16),
                s.get(JAVA_LONG, 24)), s.get(JAVA_LONG, 32), s.get(JAVA_LONG, 40), s.get(JAVA_LONG, 48));
    }

    public static void writeDebugRegs(MemorySegment s, DebugRegisters d) {
        s.asSlice(0, DEBUGREGS.byteSize()).fill((byte) 0);
        for (int i = 0; i < 4; i++) s.set(JAVA_LONG, 8L * i, d.db().get(i));
        s.set(JAVA_LONG, 32, d.dr6());
        s.set(JAVA_LONG, 40, d.dr7());
        s.set(JAVA_LONG, 48, d.flags());
    }

    // ---- kvm_cpuid_entry2 --------------------------------------------------------------

    static CpuidEntry readCpuid(MemorySegment s, long at) {
        return new CpuidEntry(s.get(JAVA_INT, at), s.get(JAVA_INT, at + 4), s.get(JAVA_INT, at + 8),
                s.get(JAVA_INT, at + 12), s.get(JAVA_INT, at + 16), s.get(JAVA_INT, at + 20), s.get(JAVA_INT, at + 24));
    }

    static void writeCpuid(MemorySegment s, long at, CpuidEntry e) {
        int[] v = {e.function(), e.index(), e.flags(), e.eax(), e.ebx(), e.ecx(), e.edx(), 0, 0, 0};
        MemorySegment.copy(v, 0, s, JAVA_INT, at, v.length);
    }
}
