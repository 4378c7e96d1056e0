package dev.scratchvm.image;

import dev.scratchvm.image.TlvMessage.Schema;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.DescriptorTable;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;
import dev.scratchvm.x86.Xcr;

import java.util.ArrayList;
import java.util.List;

import static dev.scratchvm.image.TlvMessage.i64;
import static dev.scratchvm.image.TlvMessage.int32;
import static dev.scratchvm.image.TlvMessage.len;
import static dev.scratchvm.image.TlvMessage.repeated;

/**
 * Encodes a {@link MachineState} to bytes and back, for the image's STATE section and the
 * migration stream. The encoding is the TLV scheme of docs/image-format.md; the tag numbers
 * below are the format: never reuse or renumber one. Fields added in a later minor version
 * must be optional; unknown tags are skipped on decode.
 *
 * <p>Decode is total: any input either yields a state that passes {@link StateLimits} or
 * throws {@link ImageException}. Encode refuses (IllegalArgumentException) a state that
 * decode would refuse, so whatever is written can be read back.
 */
public final class StateCodec {
    private StateCodec() {
    }

    // ---- schemas: the tag numbers and limits of every record ---------------------------------

    private static final Schema SEGMENT = new Schema("segment", i64(1, "base"), int32(2, "limit"),
            int32(3, "selector"), int32(4, "type"), int32(5, "present"), int32(6, "dpl"), int32(7, "db"),
            int32(8, "s"), int32(9, "l"), int32(10, "g"), int32(11, "avl"), int32(12, "unusable"));
    private static final Schema DTABLE = new Schema("dtable", i64(1, "base"), int32(2, "limit"));
    private static final Schema REGS = new Schema("regs", i64(1, "rax"), i64(2, "rbx"), i64(3, "rcx"),
            i64(4, "rdx"), i64(5, "rsi"), i64(6, "rdi"), i64(7, "rsp"), i64(8, "rbp"), i64(9, "r8"), i64(10, "r9"),
            i64(11, "r10"), i64(12, "r11"), i64(13, "r12"), i64(14, "r13"), i64(15, "r14"), i64(16, "r15"),
            i64(17, "rip"), i64(18, "rflags"));
    private static final Schema SREGS = new Schema("sregs", len(1, "cs", 1 << 10), len(2, "ds", 1 << 10),
            len(3, "es", 1 << 10), len(4, "fs", 1 << 10), len(5, "gs", 1 << 10), len(6, "ss", 1 << 10),
            len(7, "tr", 1 << 10), len(8, "ldt", 1 << 10), len(9, "gdt", 1 << 10), len(10, "idt", 1 << 10),
            i64(11, "cr0"), i64(12, "cr2"), i64(13, "cr3"), i64(14, "cr4"), i64(15, "cr8"), i64(16, "efer"),
            i64(17, "apic_base"), i64(18, "interrupt_bitmap0"), i64(19, "interrupt_bitmap1"),
            i64(20, "interrupt_bitmap2"), i64(21, "interrupt_bitmap3"));
    private static final Schema INDEXED = new Schema("entry", int32(1, "index"), i64(2, "value"));
    private static final Schema DEBUG = new Schema("debug", i64(1, "db0"), i64(2, "db1"), i64(3, "db2"),
            i64(4, "db3"), i64(5, "dr6"), i64(6, "dr7"), i64(7, "flags"));
    private static final Schema EVENTS = new Schema("events", int32(1, "exception_injected"),
            int32(2, "exception_nr"), int32(3, "exception_has_error_code"), int32(4, "exception_pending"),
            int32(5, "exception_error_code"), int32(6, "interrupt_injected"), int32(7, "interrupt_nr"),
            int32(8, "interrupt_soft"), int32(9, "interrupt_shadow"), int32(10, "nmi_injected"),
            int32(11, "nmi_pending"), int32(12, "nmi_masked"), int32(13, "sipi_vector"), int32(14, "flags"),
            int32(15, "smi_smm"), int32(16, "smi_pending"), int32(17, "smi_inside_nmi"),
            int32(18, "smi_latched_init"), int32(19, "triple_fault_pending"),
            int32(20, "exception_has_payload"), i64(21, "exception_payload"));
    private static final Schema CPUID = new Schema("cpuid", int32(1, "function"), int32(2, "index"),
            int32(3, "flags"), int32(4, "eax"), int32(5, "ebx"), int32(6, "ecx"), int32(7, "edx"));
    private static final Schema VCPU = new Schema("vcpu", int32(1, "mp_state"), len(2, "regs", 1 << 12),
            len(3, "sregs", 1 << 14), len(4, "xsave", StateLimits.MAX_XSAVE_BYTES),
            repeated(5, "xcrs", StateLimits.MAX_XCRS), len(6, "debug", 1 << 10),
            repeated(7, "msrs", StateLimits.MAX_MSRS), len(8, "events", 1 << 10),
            repeated(9, "cpuid", StateLimits.MAX_CPUID_ENTRIES), i64(10, "tsc_khz"));
    private static final Schema MEMORY = new Schema("memory", i64(1, "size"), int32(2, "page_size"));
    private static final Schema MAPPING = new Schema("mapping", i64(1, "start"), i64(2, "length"), int32(3, "prot"));
    private static final Schema FINGERPRINT = new Schema("fingerprint", i64(1, "size"), i64(2, "mtime_nanos"),
            int32(3, "crc32c"));
    private static final Schema FILE = new Schema("file", int32(1, "id"), int32(2, "kind"),
            len(3, "path", StateLimits.MAX_PATH_BYTES), int32(4, "flags"), int32(5, "mode"), i64(6, "offset"),
            len(7, "fingerprint", 1 << 10));
    private static final Schema FD = new Schema("fd", int32(1, "fd"), int32(2, "file_id"), int32(3, "close_on_exec"));
    private static final Schema KERNEL = new Schema("kernel", i64(1, "brk_start"), i64(2, "brk"),
            i64(3, "mmap_base"), i64(4, "mmap_top"), repeated(5, "mappings", StateLimits.MAX_MAPPINGS),
            len(6, "cwd", StateLimits.MAX_PATH_BYTES), i64(7, "clear_child_tid"), i64(8, "robust_list"),
            repeated(9, "files", StateLimits.MAX_FILES), repeated(10, "fds", StateLimits.MAX_FDS),
            repeated(11, "signal_actions", 64), int32(12, "umask"), len(13, "restart", 1 << 10));
    private static final Schema RESTART = new Schema("restart", int32(1, "call"), i64(2, "remaining_nanos"));
    private static final Schema SIGNAL_ACTION = new Schema("signal_action", int32(1, "signal"), i64(2, "handler"),
            i64(3, "flags"), i64(4, "restorer"), i64(5, "mask"));
    private static final Schema MACHINE = new Schema("state", len(1, "vcpu", Integer.MAX_VALUE),
            len(2, "memory", 1 << 10), len(3, "kernel", Integer.MAX_VALUE));

    // ---- encode ---------------------------------------------------------------------------------

    /**
     * Encodes {@code state}.
     *
     * @throws IllegalArgumentException if the state exceeds a limit of {@link StateLimits} or
     *                                  is inconsistent (e.g. an fd naming an unknown file)
     */
    public static byte[] encode(MachineState state) {
        String problem = StateLimits.check(state);
        if (problem != null) throw new IllegalArgumentException("cannot encode state: " + problem);
        byte[] out = new TlvWriter()
                .message(1, vcpu(state.vcpu()))
                .message(2, new TlvWriter().i64(1, state.memory().size()).int32(2, state.memory().pageSize()))
                .message(3, kernel(state.kernel()))
                .toByteArray();
        if (out.length > StateLimits.MAX_ENCODED_BYTES) {
            throw new IllegalArgumentException("cannot encode state: encoded size " + out.length
                    + " bytes exceeds the limit of " + StateLimits.MAX_ENCODED_BYTES);
        }
        return out;
    }

    private static TlvWriter vcpu(VcpuState v) {
        TlvWriter w = new TlvWriter().int32(1, v.mpState()).message(2, regs(v.regs())).message(3, sregs(v.sregs()))
                .bytes(4, v.xsave());
        for (Xcr x : v.xcrs()) w.message(5, new TlvWriter().int32(1, x.index()).i64(2, x.value()));
        DebugRegisters d = v.debug();
        w.message(6, new TlvWriter().i64(1, d.db().get(0)).i64(2, d.db().get(1)).i64(3, d.db().get(2))
                .i64(4, d.db().get(3)).i64(5, d.dr6()).i64(6, d.dr7()).i64(7, d.flags()));
        for (Msr m : v.msrs()) w.message(7, new TlvWriter().int32(1, m.index()).i64(2, m.value()));
        w.message(8, events(v.events()));
        for (CpuidEntry c : v.cpuid()) {
            w.message(9, new TlvWriter().int32(1, c.function()).int32(2, c.index()).int32(3, c.flags())
                    .int32(4, c.eax()).int32(5, c.ebx()).int32(6, c.ecx()).int32(7, c.edx()));
        }
        return w.i64(10, v.tscKhz());
    }

    private static TlvWriter regs(Registers r) {
        return new TlvWriter().i64(1, r.rax()).i64(2, r.rbx()).i64(3, r.rcx()).i64(4, r.rdx()).i64(5, r.rsi())
                .i64(6, r.rdi()).i64(7, r.rsp()).i64(8, r.rbp()).i64(9, r.r8()).i64(10, r.r9()).i64(11, r.r10())
                .i64(12, r.r11()).i64(13, r.r12()).i64(14, r.r13()).i64(15, r.r14()).i64(16, r.r15())
                .i64(17, r.rip()).i64(18, r.rflags());
    }

    private static TlvWriter sregs(SpecialRegisters s) {
        TlvWriter w = new TlvWriter().message(1, segment(s.cs())).message(2, segment(s.ds()))
                .message(3, segment(s.es())).message(4, segment(s.fs())).message(5, segment(s.gs()))
                .message(6, segment(s.ss())).message(7, segment(s.tr())).message(8, segment(s.ldt()))
                .message(9, new TlvWriter().i64(1, s.gdt().base()).int32(2, s.gdt().limit()))
                .message(10, new TlvWriter().i64(1, s.idt().base()).int32(2, s.idt().limit()))
                .i64(11, s.cr0()).i64(12, s.cr2()).i64(13, s.cr3()).i64(14, s.cr4()).i64(15, s.cr8())
                .i64(16, s.efer()).i64(17, s.apicBase());
        for (int i = 0; i < 4; i++) w.i64(18 + i, s.interruptBitmap().get(i));
        return w;
    }

    private static TlvWriter segment(Segment s) {
        return new TlvWriter().i64(1, s.base()).int32(2, s.limit()).int32(3, s.selector()).int32(4, s.type())
                .int32(5, s.present()).int32(6, s.dpl()).int32(7, s.db()).int32(8, s.s()).int32(9, s.l())
                .int32(10, s.g()).int32(11, s.avl()).int32(12, s.unusable());
    }

    private static TlvWriter events(VcpuEvents e) {
        return new TlvWriter().int32(1, e.exceptionInjected()).int32(2, e.exceptionNr())
                .int32(3, e.exceptionHasErrorCode()).int32(4, e.exceptionPending()).int32(5, e.exceptionErrorCode())
                .int32(6, e.interruptInjected()).int32(7, e.interruptNr()).int32(8, e.interruptSoft())
                .int32(9, e.interruptShadow()).int32(10, e.nmiInjected()).int32(11, e.nmiPending())
                .int32(12, e.nmiMasked()).int32(13, e.sipiVector()).int32(14, e.flags()).int32(15, e.smiSmm())
                .int32(16, e.smiPending()).int32(17, e.smiInsideNmi()).int32(18, e.smiLatchedInit())
                .int32(19, e.tripleFaultPending()).int32(20, e.exceptionHasPayload()).i64(21, e.exceptionPayload());
    }

    private static TlvWriter kernel(KernelState k) {
        TlvWriter w = new TlvWriter().i64(1, k.brkStart()).i64(2, k.brk()).i64(3, k.mmapBase()).i64(4, k.mmapTop());
        for (Mapping m : k.mappings()) w.message(5, new TlvWriter().i64(1, m.start()).i64(2, m.length()).int32(3, m.prot()));
        w.string(6, k.cwd(), StateLimits.MAX_PATH_BYTES, "cwd").i64(7, k.clearChildTid()).i64(8, k.robustList());
        for (OpenFileState f : k.files()) {
            FileFingerprint p = f.fingerprint();
            w.message(9, new TlvWriter().int32(1, f.id()).int32(2, kindCode(f.kind()))
                    .string(3, f.path(), StateLimits.MAX_PATH_BYTES, "path of file " + f.id())
                    .int32(4, f.flags()).int32(5, f.mode()).i64(6, f.offset())
                    .message(7, new TlvWriter().i64(1, p.size()).i64(2, p.mtimeNanos()).int32(3, p.crc32c())));
        }
        for (FdState d : k.fds()) w.message(10, new TlvWriter().int32(1, d.fd()).int32(2, d.fileId()).bool(3, d.closeOnExec()));
        for (SignalAction a : k.signalActions()) {
            w.message(11, new TlvWriter().int32(1, a.signal()).i64(2, a.handler()).i64(3, a.flags()).i64(4, a.restorer())
                    .i64(5, a.mask()));
        }
        w.int32(12, k.umask());
        if (k.restart() != null) {
            w.message(13, new TlvWriter().int32(1, k.restart().call()).i64(2, k.restart().remainingNanos()));
        }
        return w;
    }

    /** Explicit codes, so reordering the enum cannot change the format. */
    private static int kindCode(FileKind kind) {
        return switch (kind) {
            case STDIN -> 0;
            case STDOUT -> 1;
            case STDERR -> 2;
            case REGULAR -> 3;
            case DIRECTORY -> 4;
            case DEVICE -> 5;
        };
    }

    // ---- decode ---------------------------------------------------------------------------------

    /** Decodes bytes made by {@link #encode}; any malformed or out-of-limit input throws {@link ImageException}. */
    public static MachineState decode(byte[] bytes) throws ImageException {
        if (bytes.length > StateLimits.MAX_ENCODED_BYTES) {
            throw ImageException.corruptState("encoded size " + bytes.length + " bytes exceeds the limit of "
                    + StateLimits.MAX_ENCODED_BYTES);
        }
        TlvMessage m = TlvMessage.parse(bytes, MACHINE);
        TlvMessage mem = m.message(2, MEMORY);
        long size = mem.i64(1);
        int pageSize = mem.int32(2);
        if (pageSize != 4096) throw mem.error("page size " + pageSize + " is not 4096");
        if (size <= 0 || size % pageSize != 0 || size > StateLimits.MAX_MEMORY_BYTES) {
            throw mem.error("memory size " + size + " is not a positive multiple of 4096 up to "
                    + StateLimits.MAX_MEMORY_BYTES);
        }
        MachineState state = new MachineState(vcpu(m.message(1, VCPU)), new MemoryState(size, pageSize),
                kernel(m.message(3, KERNEL)));
        String problem = StateLimits.check(state);
        if (problem != null) throw ImageException.corruptState(problem);
        return state;
    }

    private static VcpuState vcpu(TlvMessage m) throws ImageException {
        List<Xcr> xcrs = new ArrayList<>();
        for (TlvMessage x : m.messages(5, INDEXED)) xcrs.add(new Xcr(x.int32(1), x.i64(2)));
        List<Msr> msrs = new ArrayList<>();
        for (TlvMessage x : m.messages(7, INDEXED)) msrs.add(new Msr(x.int32(1), x.i64(2)));
        List<CpuidEntry> cpuid = new ArrayList<>();
        for (TlvMessage c : m.messages(9, CPUID)) {
            cpuid.add(new CpuidEntry(c.int32(1), c.int32(2), c.int32(3), c.int32(4), c.int32(5), c.int32(6), c.int32(7)));
        }
        TlvMessage d = m.message(6, DEBUG);
        DebugRegisters debug = new DebugRegisters(List.of(d.i64(1), d.i64(2), d.i64(3), d.i64(4)),
                d.i64(5), d.i64(6), d.i64(7));
        TlvMessage r = m.message(2, REGS);
        Registers regs = new Registers(r.i64(1), r.i64(2), r.i64(3), r.i64(4), r.i64(5), r.i64(6), r.i64(7),
                r.i64(8), r.i64(9), r.i64(10), r.i64(11), r.i64(12), r.i64(13), r.i64(14), r.i64(15), r.i64(16),
                r.i64(17), r.i64(18));
        TlvMessage e = m.message(8, EVENTS);
        VcpuEvents events = new VcpuEvents(e.int32(1), e.int32(2), e.int32(3), e.int32(4), e.int32(5), e.int32(6),
                e.int32(7), e.int32(8), e.int32(9), e.int32(10), e.int32(11), e.int32(12), e.int32(13), e.int32(14),
                e.int32(15), e.int32(16), e.int32(17), e.int32(18), e.int32(19), e.int32(20), e.i64(21));
        return new VcpuState(m.int32(1), regs, sregs(m.message(3, SREGS)), m.bytes(4), xcrs, debug, msrs, events,
                cpuid, m.i64(10));
    }

    private static SpecialRegisters sregs(TlvMessage s) throws ImageException {
        Segment[] seg = new Segment[8];
        for (int i = 0; i < 8; i++) {
            TlvMessage g = s.message(i + 1, SEGMENT);
            seg[i] = new Segment(g.i64(1), g.int32(2), g.int32(3), g.int32(4), g.int32(5), g.int32(6), g.int32(7),
                    g.int32(8), g.int32(9), g.int32(10), g.int32(11), g.int32(12));
        }
        TlvMessage gdt = s.message(9, DTABLE), idt = s.message(10, DTABLE);
        return new SpecialRegisters(seg[0], seg[1], seg[2], seg[3], seg[4], seg[5], seg[6], seg[7],
                new DescriptorTable(gdt.i64(1), gdt.int32(2)), new DescriptorTable(idt.i64(1), idt.int32(2)),
                s.i64(11), s.i64(12), s.i64(13), s.i64(14), s.i64(15), s.i64(16), s.i64(17),
                List.of(s.i64(18), s.i64(19), s.i64(20), s.i64(21)));
    }

    private static KernelState kernel(TlvMessage k) throws ImageException {
        List<Mapping> mappings = new ArrayList<>();
        for (TlvMessage m : k.messages(5, MAPPING)) mappings.add(new Mapping(m.i64(1), m.i64(2), m.int32(3)));
        List<OpenFileState> files = new ArrayList<>();
        for (TlvMessage f : k.messages(9, FILE)) {
            TlvMessage p = f.message(7, FINGERPRINT);
            files.add(new OpenFileState(f.int32(1), kind(f, f.int32(2)), f.string(3), f.int32(4), f.int32(5),
                    f.i64(6), new FileFingerprint(p.i64(1), p.i64(2), p.int32(3))));
        }
        List<FdState> fds = new ArrayList<>();
        for (TlvMessage d : k.messages(10, FD)) fds.add(new FdState(d.int32(1), d.int32(2), d.bool(3)));
        List<SignalAction> signals = new ArrayList<>();
        for (TlvMessage a : k.messages(11, SIGNAL_ACTION)) {
            int signal = a.int32(1);
            if (signal < 1 || signal > 64) throw a.error("signal number " + signal + " out of range");
            signals.add(new SignalAction(signal, a.i64(2), a.i64(3), a.i64(4), a.i64(5)));
        }
        // Images written before these fields existed hold the default mask and no interrupted sleep.
        int umask = k.has(12) ? k.int32(12) : KernelState.DEFAULT_UMASK;
        if ((umask & ~0777) != 0) throw k.error("umask " + Integer.toOctalString(umask) + " has bits outside 0777");
        KernelState.Restart restart = null;
        if (k.has(13)) {
            TlvMessage r = k.message(13, RESTART);
            if (r.i64(2) < 0) throw r.error("negative remaining time " + r.i64(2));
            restart = new KernelState.Restart(r.int32(1), r.i64(2));
        }
        return new KernelState(k.i64(1), k.i64(2), k.i64(3), k.i64(4), mappings, k.string(6), k.i64(7), k.i64(8),
                files, fds, signals, umask, restart);
    }

    private static FileKind kind(TlvMessage f, int code) throws ImageException {
        return switch (code) {
            case 0 -> FileKind.STDIN;
            case 1 -> FileKind.STDOUT;
            case 2 -> FileKind.STDERR;
            case 3 -> FileKind.REGULAR;
            case 4 -> FileKind.DIRECTORY;
            case 5 -> FileKind.DEVICE;
            default -> throw f.error("unknown file kind " + code);
        };
    }
}
