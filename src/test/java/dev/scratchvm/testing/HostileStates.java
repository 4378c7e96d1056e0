package dev.scratchvm.testing;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.LockOwner;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.DescriptorTable;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;

/**
 * Hostile variants of a good machine state: each one changes one field (or adds one element)
 * to a value ScratchVM never saves, and names the field the refusal must mention. They still
 * encode (every count and length within the codec's limits), so written into an image with
 * correct checksums they test what the reader makes of the meaning, not of the bytes.
 *
 * <p>Covers every field of the kernel state and every VMM-owned part of the vCPU, with the
 * values known to have been accepted before (a mapping in the VMM's 2 MiB, brk_start 0,
 * mmap_top 2^50, SMM, "../" paths ...) plus seeded random ones.
 */
public final class HostileStates {
    private static final long PAGE = 4096, VMM = 2L << 20;

    /** One hostile state and the field its refusal must name. */
    public record Case(String field, String what, MachineState state) {
        @Override
        public String toString() {
            return field + ": " + what;
        }
    }

    private final MachineState good;
    private final long size;
    private final List<Case> cases = new ArrayList<>();

    private HostileStates(MachineState good) {
        this.good = good;
        this.size = good.memory().size();
    }

    /** Every hostile variant of {@code good} (a state ScratchVM saved, or one just like it). */
    public static List<Case> of(MachineState good) {
        HostileStates h = new HostileStates(good);
        h.memory();
        h.kernelAddresses();
        h.mappings();
        h.paths();
        h.files();
        h.registers();
        h.controlRegisters();
        h.tablesAndSegments();
        h.msrs();
        h.events();
        h.randomOnes(new Random(20261202));
        if (good.kernel().files().stream().anyMatch(f -> f.kind() == FileKind.REGULAR)) {
            h.cases.addAll(WaitObjectStates.hostile(good));
        }
        return List.copyOf(h.cases);
    }

    // ---- memory and kernel -----------------------------------------------------------------

    private void memory() {
        for (long s : new long[]{2L << 20, 0x1000, 6L << 20 | PAGE, (4L << 20) + (1L << 20), 1L << 37}) {
            add("memory.size", "size " + Long.toHexString(s), new MachineState(good.vcpu(), new MemoryState(s, 4096), good.kernel()));
        }
    }

    private void kernelAddresses() {
        KernelState k = good.kernel();
        for (long v : new long[]{0, PAGE, VMM - 1, 1L << 63, -1, size + PAGE}) {
            kernel("kernel.brk_start", "brk_start " + Long.toHexString(v), x -> kernel(x, v, x.brk(), x.mmapBase(), x.mmapTop()));
        }
        for (long v : new long[]{k.brkStart() - 1, 1L << 63, size + 1, -1, 0}) {
            kernel("kernel.brk", "brk " + Long.toHexString(v), x -> kernel(x, x.brkStart(), v, x.mmapBase(), x.mmapTop()));
        }
        for (long v : new long[]{0, 0x100000, size + PAGE, 1L << 63}) {
            kernel("kernel.mmap_base", "mmap_base " + Long.toHexString(v), x -> kernel(x, x.brkStart(), x.brk(), v, x.mmapTop()));
        }
        for (long v : new long[]{1L << 50, size, k.mmapBase() - PAGE, k.mmapTop() + 1, -1, 0, 1L << 63}) {
            kernel("kernel.mmap_top", "mmap_top " + Long.toHexString(v), x -> kernel(x, x.brkStart(), x.brk(), x.mmapBase(), v));
        }
        for (long v : new long[]{PAGE, 0x5000, VMM - 4, size, size - 2, -1, 1L << 63}) {
            kernel("kernel.clear_child_tid", "clear_child_tid " + Long.toHexString(v), x -> new KernelState(x.brkStart(), x.brk(),
                    x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(), v, x.robustList(), x.files(), x.fds(), x.signalActions()));
        }
        for (long v : new long[]{0x5000, size, -8}) {
            kernel("kernel.robust_list", "robust_list " + Long.toHexString(v), x -> new KernelState(x.brkStart(), x.brk(),
                    x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(), x.clearChildTid(), v, x.files(), x.fds(), x.signalActions()));
        }
        kernel("kernel.signal_actions", "a handler for SIGKILL", x -> signals(x, List.of(new SignalAction(9, 0x201000, 0, 0, 0))));
        kernel("kernel.signal_actions", "a handler for SIGSTOP", x -> signals(x, List.of(new SignalAction(19, 0x201000, 0, 0, 0))));
        kernel("kernel.signal_actions", "SIGUSR1 twice", x -> signals(x,
                List.of(new SignalAction(10, 1, 0, 0, 0), new SignalAction(10, 0x201000, 0, 0, 0))));
        signalState();
    }

    private void signalState() {
        KernelState.PendingSignal usr1 = new KernelState.PendingSignal(10, 0, 1, 0, 0, 0);
        kernel("kernel.blocked_signals", "SIGKILL blocked", x -> signalState(x, new SignalState(1L << 8, List.of(), null, List.of())));
        kernel("kernel.blocked_signals", "SIGSTOP blocked", x -> signalState(x, new SignalState(1L << 18, List.of(), null, List.of())));
        for (int signal : new int[]{0, 65, -1, Integer.MIN_VALUE}) {
            kernel("kernel.pending_signals", "pending signal " + signal, x -> signalState(x, new SignalState(0,
                    List.of(new KernelState.PendingSignal(signal, 0, 1, 0, 0, 0)), null, List.of())));
        }
        kernel("kernel.pending_signals", "SIGUSR1 pending twice", x -> signalState(x, new SignalState(0,
                List.of(usr1, usr1), null, List.of())));
        for (long size : new long[]{0, 2047, -1}) {
            kernel("kernel.signal_alt_stack", "an alternate stack of " + size + " bytes", x -> signalState(x,
                    new SignalState(0, List.of(), new KernelState.AltStack(0x300000, size, 0), List.of())));
        }
        kernel("kernel.signal_alt_stack", "alternate stack flags SS_ONSTACK", x -> signalState(x,
                new SignalState(0, List.of(), new KernelState.AltStack(0x300000, 8192, 1), List.of())));
        List<TimerState> bad = List.of(new TimerState(-2, 1, 14, 0, 1, 0, 0), new TimerState(1024, 1, 14, 0, 1, 0, 0),
                new TimerState(0, 2, 14, 0, 1, 0, 0), new TimerState(0, 1, 65, 0, 1, 0, 0),
                new TimerState(0, 1, 14, 0, -1, 0, 0), new TimerState(0, 1, 14, 0, 1, -1, 0),
                new TimerState(0, 1, 14, 0, 1, 0, -1),
                // setitimer's CPU timers: their own clock and signal only, and no id below them.
                new TimerState(-2, 2, 14, 0, 1, 0, 0), new TimerState(-3, 1, 27, 0, 1, 0, 0),
                new TimerState(-4, 2, 27, 0, 1, 0, 0));
        for (TimerState t : bad) {
            kernel("kernel.timers", "timer " + t, x -> signalState(x, new SignalState(0, List.of(), null, List.of(t))));
        }
        TimerState ok = new TimerState(3, 1, 14, 0, 1, 0, 0);
        kernel("kernel.timers", "timer id 3 twice", x -> signalState(x, new SignalState(0, List.of(), null, List.of(ok, ok))));
    }

    private static KernelState signalState(KernelState x, SignalState s) {
        return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(), x.clearChildTid(),
                x.robustList(), x.files(), x.fds(), x.signalActions(), x.umask(), x.restart(), x.processName(), x.dumpable(), s);
    }

    private void mappings() {
        long top = good.kernel().mmapTop();
        addMapping("a mapping in the VMM's 2 MiB, rwx", new Mapping(PAGE, PAGE, 7));
        addMapping("over the page tables", new Mapping(0, VMM, 3));
        addMapping("length 2^64-4096", new Mapping(top - 0x10000, -PAGE, 3));
        addMapping("starting at 2^63", new Mapping(1L << 63, PAGE, 3));
        addMapping("of 1 TiB", new Mapping(top - 0x10000, 1L << 40, 3));
        addMapping("an unaligned start", new Mapping(top - 0x10000 + 1, PAGE, 3));
        addMapping("an unaligned length", new Mapping(top - 0x10000, PAGE + 1, 3));
        addMapping("prot -1", new Mapping(top - 0x10000, PAGE, -1));
        addMapping("prot PROT_SEM", new Mapping(top - 0x10000, PAGE, 8));
        addMapping("length 0", new Mapping(top - 0x10000, 0, 3));
        addMapping("beyond guest memory", new Mapping(size, PAGE, 3));
        addMapping("crossing the end of guest memory", new Mapping(size - PAGE, 2 * PAGE, 3));
        kernel("kernel.mappings", "two overlapping mappings", x -> mappings(x, List.of(new Mapping(top - 0x20000, 0x10000, 3),
                new Mapping(top - 0x18000, 0x10000, 3))));
        // Shared file mappings: file 3 of the good state is a regular file open for reading, file 1 is stdout.
        long at = top - 0x40000;
        addMapping("a shared mapping naming a missing file", new Mapping(at, PAGE, 3, 99, 0, true));
        addMapping("a shared mapping of the standard output", new Mapping(at, PAGE, 3, 1, 0, true));
        addMapping("a shared mapping at an unaligned file offset", new Mapping(at, PAGE, 3, 3, 100, true));
        addMapping("a shared mapping at a negative file offset", new Mapping(at, PAGE, 3, 3, -PAGE, true));
        addMapping("a shared mapping past file offset 2^63", new Mapping(at, 2 * PAGE, 3, 3, Long.MAX_VALUE - PAGE + 1, true));
        addMapping("an anonymous mapping naming a file", new Mapping(at, PAGE, 3, 3, 0, false));
        addMapping("an anonymous mapping with a file offset", new Mapping(at, PAGE, 3, -1, PAGE, false));
        kernel("kernel.mappings", "a shared mapping overlapping another", x -> mappings(x, List.of(
                new Mapping(at, 0x10000, 3, 3, 0, true), new Mapping(at + 0x8000, 0x10000, 3))));
    }

    private void paths() {
        for (String cwd : new String[]{"../..", "/../../etc", "", "..", "etc", "//", "/etc/", "/a/./b", "/a//b",
                "/tmp/../../..", "/a\0b"}) {
            kernel("kernel.cwd", "cwd \"" + cwd + "\"", x -> new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(),
                    x.mappings(), cwd, x.clearChildTid(), x.robustList(), x.files(), x.fds(), x.signalActions()));
        }
        for (String path : new String[]{"../../etc/passwd", "/..", "a/../../../etc/passwd", "//etc//passwd", "",
                "/etc/passwd/", "/./etc/passwd", "etc/passwd", "/a/..", "/x\0y", "/data/../../../../etc/shadow"}) {
            addFile(FileKind.REGULAR, path, 2, 0, 0, "path \"" + path + "\"", ".path");
        }
        addFile(FileKind.DIRECTORY, "/../..", 0200000, 0, 0, "directory \"/../..\"", ".path");
        addFile(FileKind.DEVICE, "/dev/../etc/passwd", 0, 0, 0, "a device at /dev/../etc/passwd", ".path");
        addFile(FileKind.DEVICE, "dev/null", 2, 0, 0, "a relative device path", ".path");
        addFile(FileKind.STDOUT, "/etc/passwd", 1, 0, 0, "stdout with a path", ".path");
    }

    private void files() {
        addFile(FileKind.REGULAR, "/f", -1, 0, 0, "open flags -1", ".flags");
        addFile(FileKind.REGULAR, "/f", 1 << 30, 0, 0, "an unknown open flag", ".flags");
        addFile(FileKind.REGULAR, "/f", 2, 0170000, 0, "mode with file-type bits", ".mode");
        addFile(FileKind.REGULAR, "/f", 2, -1, 0, "mode -1", ".mode");
        addFile(FileKind.REGULAR, "/f", 2, 0644, -1, "offset -1", ".offset");
        addFile(FileKind.REGULAR, "/f", 2, 0644, Long.MIN_VALUE, "offset -2^63", ".offset");
        addFile(FileKind.PROC, "/etc/passwd", 0, 0444, 0, "a /proc file that is not in /proc", ".path");
        int id = good.kernel().files().stream().mapToInt(OpenFileState::id).max().orElse(0) + 1;
        int fd = good.kernel().fds().stream().mapToInt(FdState::fd).max().orElse(2) + 1;
        kernel("kernel.files[id " + id + "].fingerprint", "fingerprint size -2", x -> {
            List<OpenFileState> files = new ArrayList<>(x.files());
            files.add(new OpenFileState(id, FileKind.REGULAR, "/f", 2, 0644, 0, new FileFingerprint(-2, 0, 0)));
            List<FdState> fds = new ArrayList<>(x.fds());
            fds.add(new FdState(fd, id, false));
            return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(),
                    x.clearChildTid(), x.robustList(), files, fds, x.signalActions());
        });
        FileLock lock = new FileLock(LockOwner.POSIX, true, 0, 0);
        for (var kind : List.of(FileKind.STDIN, FileKind.REGULAR)) {
            int flags = kind == FileKind.STDIN ? 0 : 010000000; // O_PATH
            kernel("kernel.files[id " + id + "].locks", "a lock on " + (kind == FileKind.STDIN ? "stdin" : "an O_PATH file"), x -> {
                List<OpenFileState> files = new ArrayList<>(x.files());
                files.add(new OpenFileState(id, kind, kind == FileKind.STDIN ? "" : "/f", flags, 0, 0, FileFingerprint.NONE,
                        List.of(lock)));
                List<FdState> fds = new ArrayList<>(x.fds());
                fds.add(new FdState(fd, id, false));
                return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(),
                        x.clearChildTid(), x.robustList(), files, fds, x.signalActions());
            });
        }
        for (int number : new int[]{1024, 1 << 20, Integer.MAX_VALUE}) {
            kernel("kernel.fds", "fd " + number, x -> {
                List<FdState> fds = new ArrayList<>(x.fds());
                fds.add(new FdState(number, x.files().getFirst().id(), false));
                return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(),
                        x.clearChildTid(), x.robustList(), x.files(), fds, x.signalActions());
            });
        }
    }

    // ---- vCPU --------------------------------------------------------------------------------

    private void registers() {
        for (int mp : new int[]{1, 3, 5, 7, -1}) vcpu("vCPU mp_state", "mp_state " + mp, v -> new VcpuState(mp, v.regs(),
                v.sregs(), v.xsave(), v.xcrs(), v.debug(), v.msrs(), v.events(), v.cpuid(), v.tscKhz()));
        for (long rip : new long[]{0, 0x6000, VMM - 1, size, 1L << 63, 0x7fffffffffffL, -1}) {
            regs("vCPU rip", "rip " + Long.toHexString(rip), r -> new Registers(r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(),
                    r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), rip, r.rflags()));
        }
        for (long flags : new long[]{0x3202, 0x1202, 0x20202, 0x80202, 0x100202, 0x200, 0x20a, 0x8202, 1L << 63 | 0x202, -1}) {
            regs("vCPU rflags", "rflags " + Long.toHexString(flags), r -> new Registers(r.rax(), r.rbx(), r.rcx(), r.rdx(),
                    r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(),
                    r.rip(), flags));
        }
        for (long dr7 : new long[]{0x401, 0x480, 0x2400, 0x4ff}) {
            vcpu("vCPU dr7", "dr7 " + Long.toHexString(dr7), v -> new VcpuState(v.mpState(), v.regs(), v.sregs(), v.xsave(),
                    v.xcrs(), new DebugRegisters(v.debug().db(), v.debug().dr6(), dr7, v.debug().flags()), v.msrs(), v.events(),
                    v.cpuid(), v.tscKhz()));
        }
        for (long khz : new long[]{-1, 1L << 40}) {
            vcpu("vCPU tsc_khz", "tsc_khz " + khz, v -> new VcpuState(v.mpState(), v.regs(), v.sregs(), v.xsave(), v.xcrs(),
                    v.debug(), v.msrs(), v.events(), v.cpuid(), khz));
        }
    }

    private void controlRegisters() {
        SpecialRegisters s = good.vcpu().sregs();
        long cr0 = s.cr0(), cr4 = s.cr4(), efer = s.efer();
        long[][] cr0s = {{cr0 & ~(1L << 31)}, {cr0 & ~1}, {cr0 | 4}, {cr0 | 8}, {cr0 | (1L << 18)}, {0}, {cr0 & ~0x22}};
        for (long[] v : cr0s) sregs("vCPU cr0", "cr0 " + Long.toHexString(v[0]), x -> control(x, v[0], x.cr3(), x.cr4(), x.efer()));
        for (long v : new long[]{0x5000, 0, 0x2000, 0x200000, 0x1000 | (1L << 40), -1}) {
            sregs("vCPU cr3", "cr3 " + Long.toHexString(v), x -> control(x, x.cr0(), v, x.cr4(), x.efer()));
        }
        for (long v : new long[]{cr4 | 0x1000, cr4 & ~0x20, cr4 | 0x100000, cr4 | 0x200000, cr4 | 0x10000, cr4 | 0x2000,
                cr4 | 0x4000, cr4 | 0x20000, cr4 | 0x4, cr4 | 0x400000, cr4 | 0x800, cr4 & ~0x40000, cr4 | 0x800000, 0}) {
            sregs("vCPU cr4", "cr4 " + Long.toHexString(v), x -> control(x, x.cr0(), x.cr3(), v, x.efer()));
        }
        for (long v : new long[]{0, efer & ~1, efer & ~0x400, efer & ~0x100, efer | 0x1000}) {
            sregs("vCPU efer", "efer " + Long.toHexString(v), x -> control(x, x.cr0(), x.cr3(), x.cr4(), v));
        }
        for (int i = 0; i < 4; i++) {
            int word = i;
            sregs("vCPU interrupt_bitmap" + i, "a pending interrupt in word " + i, x -> {
                List<Long> bits = new ArrayList<>(x.interruptBitmap());
                bits.set(word, 1L << (7 + word));
                return new SpecialRegisters(x.cs(), x.ds(), x.es(), x.fs(), x.gs(), x.ss(), x.tr(), x.ldt(), x.gdt(), x.idt(),
                        x.cr0(), x.cr2(), x.cr3(), x.cr4(), x.cr8(), x.efer(), x.apicBase(), bits);
            });
        }
    }

    private void tablesAndSegments() {
        SpecialRegisters s = good.vcpu().sregs();
        for (DescriptorTable t : new DescriptorTable[]{new DescriptorTable(VMM, s.gdt().limit()),
                new DescriptorTable(s.gdt().base(), 0xffff), new DescriptorTable(0, 0)}) {
            sregs("vCPU gdt", "gdt " + t, x -> tables(x, t, x.idt()));
        }
        for (DescriptorTable t : new DescriptorTable[]{new DescriptorTable(VMM, s.idt().limit()),
                new DescriptorTable(s.idt().base(), 0xfff), new DescriptorTable(0, 0)}) {
            sregs("vCPU idt", "idt " + t, x -> tables(x, x.gdt(), t));
        }
        Segment tr = s.tr();
        for (Segment t : new Segment[]{tr.withBase(VMM), seg(tr, 0x2067, tr.selector(), tr.type(), tr.dpl(), tr.present()),
                seg(tr, tr.limit(), 0x30, tr.type(), tr.dpl(), tr.present()), seg(tr, tr.limit(), tr.selector(), 2, tr.dpl(), tr.present()),
                seg(tr, tr.limit(), tr.selector(), tr.type(), tr.dpl(), 0)}) {
            sregs("vCPU tr", "tr " + t, x -> segments(x, x.cs(), x.ss(), x.ds(), t, x.ldt()));
        }
        Segment ldt = s.ldt();
        Segment usableLdt = new Segment(VMM + 0x10000, 0xff, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0);
        for (Segment l : new Segment[]{usableLdt, seg(usableLdt, 0xffff, 0x30, 2, 0, 1), seg(ldt, ldt.limit(), 0x38, 2, 0, 1)}) {
            sregs("vCPU ldt", "ldt " + l, x -> segments(x, x.cs(), x.ss(), x.ds(), x.tr(), l));
        }
        Segment cs = s.cs(), ss = s.ss();
        for (Segment c : new Segment[]{seg(cs, cs.limit(), 0x08, cs.type(), 0, 1), seg(cs, cs.limit(), cs.selector(), cs.type(), 0, 1),
                seg(cs, cs.limit(), 0x08, cs.type(), 3, 1), seg(cs, cs.limit(), cs.selector(), 3, 3, 1),
                seg(cs, cs.limit(), cs.selector(), cs.type(), 3, 0),
                new Segment(0, -1, cs.selector(), cs.type(), 1, 3, 1, 1, 0, 1, 0, 0)}) {
            sregs("vCPU cs", "cs " + c, x -> segments(x, c, x.ss(), x.ds(), x.tr(), x.ldt()));
        }
        for (Segment c : new Segment[]{seg(ss, ss.limit(), 0x10, ss.type(), 0, 1), seg(ss, ss.limit(), ss.selector(), ss.type(), 0, 1),
                seg(ss, ss.limit(), ss.selector(), ss.type(), 3, 0), seg(ss, ss.limit(), 0x23, 11, 3, 1)}) {
            sregs("vCPU ss", "ss " + c, x -> segments(x, x.cs(), c, x.ds(), x.tr(), x.ldt()));
        }
        Segment ds = s.ds();
        for (Segment d : new Segment[]{seg(ds, ds.limit(), 0x10, ds.type(), 0, 1), seg(ds, ds.limit(), 0x28, ds.type(), 3, 1),
                seg(ds, ds.limit(), 0x30, ds.type(), 3, 1), seg(ds, ds.limit(), ds.selector(), ds.type(), 0, 1)}) {
            sregs("vCPU ds", "ds " + d, x -> segments(x, x.cs(), x.ss(), d, x.tr(), x.ldt()));
        }
        Segment kernelData = seg(ds, ds.limit(), 0x10, ds.type(), 0, 1);
        sregs("vCPU es", "es on the kernel data segment", x -> new SpecialRegisters(x.cs(), x.ds(), kernelData, x.fs(), x.gs(),
                x.ss(), x.tr(), x.ldt(), x.gdt(), x.idt(), x.cr0(), x.cr2(), x.cr3(), x.cr4(), x.cr8(), x.efer(), x.apicBase(),
                x.interruptBitmap()));
        sregs("vCPU fs", "fs on the kernel data segment", x -> x.withFs(seg(kernelData.withBase(x.fs().base()), ds.limit(), 0x10,
                ds.type(), 0, 1)));
        sregs("vCPU gs", "gs on the TSS selector", x -> x.withGs(seg(x.gs(), x.gs().limit(), 0x28, x.gs().type(), 3, 1)));
        for (long base : new long[]{1L << 47, 0x8000_0000_0000_0000L, 0x0123_4567_89ab_cdefL}) {
            sregs("vCPU fs base", "fs base " + Long.toHexString(base), x -> x.withFs(x.fs().withBase(base)));
            sregs("vCPU gs base", "gs base " + Long.toHexString(base), x -> x.withGs(x.gs().withBase(base)));
        }
    }

    private void msrs() {
        for (int index : new int[]{0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04, 0x11, 0x12, 0xC0000080,
                0xC0000100, 0xC0000101, 0x1d9, 0x3a, 0x48, 0xc0010117}) {
            msr("vCPU MSR 0x" + Integer.toHexString(index), "MSR " + Integer.toHexString(index) + " added", ms -> {
                ms.add(new Msr(index, 0x1001));
                return ms;
            });
        }
        for (long[] change : new long[][]{{0xC0000082L, 0x200000}, {0xC0000082L, 0}, {0xC0000081L, 0x0023000800000000L},
                {0xC0000081L, 0}, {0xC0000084L, 0}, {0xC0000084L, 0x300}, {0xC0000083L, 0x200000}}) {
            String name = switch ((int) change[0]) {
                case 0xC0000082 -> "LSTAR";
                case 0xC0000081 -> "STAR";
                case 0xC0000084 -> "SFMASK";
                default -> "CSTAR";
            };
            msr("vCPU MSR " + name, name + " " + Long.toHexString(change[1]), ms -> set(ms, (int) change[0], change[1]));
        }
        for (int[] missing : new int[][]{{0xC0000082, 0}, {0xC0000081, 0}, {0xC0000084, 0}}) {
            String name = missing[0] == 0xC0000082 ? "LSTAR" : missing[0] == 0xC0000081 ? "STAR" : "SFMASK";
            msr("vCPU MSR " + name, name + " missing", ms -> {
                ms.removeIf(m -> m.index() == missing[0]);
                return ms;
            });
        }
        for (long[] sysenter : new long[][]{{0x174, 8}, {0x175, 0x7000}, {0x176, 0x200000}}) {
            msr("vCPU MSR SYSENTER", "SYSENTER " + Long.toHexString(sysenter[0]), ms -> set(ms, (int) sysenter[0], sysenter[1]));
        }
        msr("vCPU MSR KERNEL_GS_BASE", "KERNEL_GS_BASE not canonical", ms -> set(ms, 0xC0000102, 1L << 60));
        msr("vCPU MSR TSC_AUX", "TSC_AUX of 33 bits", ms -> set(ms, 0xC0000103, 1L << 32));
        for (long pat : new long[]{-1, 0x0007040600070402L, 0x0007040600070403L, 0x0007040600070408L}) {
            msr("vCPU MSR PAT", "PAT " + Long.toHexString(pat), ms -> set(ms, 0x277, pat));
        }
        msr("vCPU MSR", "TSC twice", ms -> {
            ms.add(new Msr(0x10, 1));
            ms.add(new Msr(0x10, 2));
            return ms;
        });
    }

    private void events() {
        String[] names = {"exception_injected", "exception_pending", "exception_has_payload", "interrupt_injected",
                "interrupt_shadow", "nmi_injected", "nmi_pending", "nmi_masked", "smi_smm", "smi_pending",
                "smi_inside_nmi", "smi_latched_init", "triple_fault_pending"};
        for (int i = 0; i < names.length; i++) {
            int field = i;
            for (int value : new int[]{1, 255}) {
                vcpu("vCPU events." + names[i], names[i] + " = " + value, v -> new VcpuState(v.mpState(), v.regs(), v.sregs(),
                        v.xsave(), v.xcrs(), v.debug(), v.msrs(), event(v.events(), field, value), v.cpuid(), v.tscKhz()));
            }
        }
    }

    /** The same kinds of attack with seeded random values: addresses in the VMM's 2 MiB or beyond memory, odd paths, MSRs. */
    private void randomOnes(Random r) {
        for (int i = 0; i < 15; i++) {
            long low = r.nextLong(VMM), high = size + r.nextLong(1L << 40);
            long v = r.nextBoolean() ? low : high;
            kernel("kernel.brk_start", "random brk_start " + Long.toHexString(v), x -> kernel(x, v, Math.max(v, x.brk()), x.mmapBase(), x.mmapTop()));
            long start = low & ~(PAGE - 1);
            addMapping("random low mapping at " + Long.toHexString(start), new Mapping(start, PAGE * (1 + r.nextInt(16)), r.nextInt(8)));
            long tid = r.nextBoolean() ? low : high;
            kernel("kernel.clear_child_tid", "random clear_child_tid " + Long.toHexString(tid), x -> new KernelState(x.brkStart(),
                    x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(), tid == 0 ? 1 : tid, x.robustList(), x.files(),
                    x.fds(), x.signalActions()));
            long rip = r.nextBoolean() ? low : high;
            regs("vCPU rip", "random rip " + Long.toHexString(rip), x -> new Registers(x.rax(), x.rbx(), x.rcx(), x.rdx(), x.rsi(),
                    x.rdi(), x.rsp(), x.rbp(), x.r8(), x.r9(), x.r10(), x.r11(), x.r12(), x.r13(), x.r14(), x.r15(), rip, x.rflags()));
            long cr3 = (r.nextLong(1L << 40) & ~0xfffL) | 0x2000;
            sregs("vCPU cr3", "random cr3 " + Long.toHexString(cr3), x -> control(x, x.cr0(), cr3, x.cr4(), x.efer()));
            int msr = 0x4b564d00 + r.nextInt(16);
            msr("vCPU MSR 0x" + Integer.toHexString(msr), "random KVM MSR " + Integer.toHexString(msr), ms -> {
                ms.add(new Msr(msr, r.nextLong()));
                return ms;
            });
            String path = randomEscape(r);
            addFile(FileKind.REGULAR, path, 0, 0, 0, "random path \"" + path + "\"", ".path");
            String cwd = randomEscape(r);
            kernel("kernel.cwd", "random cwd \"" + cwd + "\"", x -> new KernelState(x.brkStart(), x.brk(), x.mmapBase(),
                    x.mmapTop(), x.mappings(), cwd, x.clearChildTid(), x.robustList(), x.files(), x.fds(), x.signalActions()));
        }
    }

    /** A path with at least one "..", "." or empty component somewhere. */
    private static String randomEscape(Random r) {
        String[] parts = {"etc", "passwd", "..", ".", "", "tmp", "a b", "日本"};
        StringBuilder b = new StringBuilder(r.nextBoolean() ? "/" : "");
        int n = 1 + r.nextInt(5), bad = r.nextInt(n);
        for (int i = 0; i < n; i++) {
            if (i > 0) b.append('/');
            b.append(i == bad ? new String[]{"..", ".", ""}[r.nextInt(3)] : parts[r.nextInt(parts.length)]);
        }
        if (b.length() > 1 && b.charAt(0) == '/' && b.indexOf("..") < 0 && b.indexOf("/./") < 0 && !b.toString().endsWith("/.")
                && b.indexOf("//") < 0 && !b.toString().endsWith("/")) {
            b.append("/..");
        }
        return b.toString();
    }

    // ---- building the variants -----------------------------------------------------------------

    private void add(String field, String what, MachineState state) {
        cases.add(new Case(field, what, state));
    }

    private void kernel(String field, String what, UnaryOperator<KernelState> change) {
        add(field, what, new MachineState(good.vcpu(), good.memory(), change.apply(good.kernel())));
    }

    private void vcpu(String field, String what, UnaryOperator<VcpuState> change) {
        add(field, what, new MachineState(change.apply(good.vcpu()), good.memory(), good.kernel()));
    }

    private void regs(String field, String what, UnaryOperator<Registers> change) {
        vcpu(field, what, v -> new VcpuState(v.mpState(), change.apply(v.regs()), v.sregs(), v.xsave(), v.xcrs(), v.debug(),
                v.msrs(), v.events(), v.cpuid(), v.tscKhz()));
    }

    private void sregs(String field, String what, UnaryOperator<SpecialRegisters> change) {
        vcpu(field, what, v -> new VcpuState(v.mpState(), v.regs(), change.apply(v.sregs()), v.xsave(), v.xcrs(), v.debug(),
                v.msrs(), v.events(), v.cpuid(), v.tscKhz()));
    }

    private void msr(String field, String what, UnaryOperator<List<Msr>> change) {
        vcpu(field, what, v -> new VcpuState(v.mpState(), v.regs(), v.sregs(), v.xsave(), v.xcrs(), v.debug(),
                change.apply(new ArrayList<>(v.msrs())), v.events(), v.cpuid(), v.tscKhz()));
    }

    private void addMapping(String what, Mapping m) {
        kernel("kernel.mappings[", what, x -> {
            List<Mapping> all = new ArrayList<>(x.mappings());
            all.add(m);
            return mappings(x, all);
        });
    }

    /** A new open file on a new fd, with everything but the hostile part plausible. */
    private void addFile(FileKind kind, String path, int flags, int mode, long offset, String what, String field) {
        int id = good.kernel().files().stream().mapToInt(OpenFileState::id).max().orElse(0) + 1;
        int fd = good.kernel().fds().stream().mapToInt(FdState::fd).max().orElse(2) + 1;
        kernel("kernel.files[id " + id + "]" + field, what, x -> {
            List<OpenFileState> files = new ArrayList<>(x.files());
            files.add(new OpenFileState(id, kind, path, flags, mode, offset, FileFingerprint.NONE));
            List<FdState> fds = new ArrayList<>(x.fds());
            fds.add(new FdState(fd, id, false));
            return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(),
                    x.clearChildTid(), x.robustList(), files, fds, x.signalActions());
        });
    }

    private static KernelState kernel(KernelState x, long brkStart, long brk, long mmapBase, long mmapTop) {
        return new KernelState(brkStart, brk, mmapBase, mmapTop, x.mappings(), x.cwd(), x.clearChildTid(), x.robustList(),
                x.files(), x.fds(), x.signalActions());
    }

    private static KernelState mappings(KernelState x, List<Mapping> mappings) {
        return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), mappings, x.cwd(), x.clearChildTid(),
                x.robustList(), x.files(), x.fds(), x.signalActions());
    }

    private static KernelState signals(KernelState x, List<SignalAction> actions) {
        return new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(), x.mappings(), x.cwd(), x.clearChildTid(),
                x.robustList(), x.files(), x.fds(), actions);
    }

    private static SpecialRegisters control(SpecialRegisters x, long cr0, long cr3, long cr4, long efer) {
        return new SpecialRegisters(x.cs(), x.ds(), x.es(), x.fs(), x.gs(), x.ss(), x.tr(), x.ldt(), x.gdt(), x.idt(),
                cr0, x.cr2(), cr3, cr4, x.cr8(), efer, x.apicBase(), x.interruptBitmap());
    }

    private static SpecialRegisters tables(SpecialRegisters x, DescriptorTable gdt, DescriptorTable idt) {
        return new SpecialRegisters(x.cs(), x.ds(), x.es(), x.fs(), x.gs(), x.ss(), x.tr(), x.ldt(), gdt, idt,
                x.cr0(), x.cr2(), x.cr3(), x.cr4(), x.cr8(), x.efer(), x.apicBase(), x.interruptBitmap());
    }

    private static SpecialRegisters segments(SpecialRegisters x, Segment cs, Segment ss, Segment ds, Segment tr, Segment ldt) {
        return new SpecialRegisters(cs, ds, x.es(), x.fs(), x.gs(), ss, tr, ldt, x.gdt(), x.idt(),
                x.cr0(), x.cr2(), x.cr3(), x.cr4(), x.cr8(), x.efer(), x.apicBase(), x.interruptBitmap());
    }

    private static Segment seg(Segment s, int limit, int selector, int type, int dpl, int present) {
        return new Segment(s.base(), limit, selector, type, present, dpl, s.db(), s.s(), s.l(), s.g(), s.avl(), s.unusable());
    }

    private static List<Msr> set(List<Msr> msrs, int index, long value) {
        msrs.replaceAll(m -> m.index() == index ? new Msr(index, value) : m);
        if (msrs.stream().noneMatch(m -> m.index() == index)) msrs.add(new Msr(index, value));
        return msrs;
    }

    private static VcpuEvents event(VcpuEvents e, int field, int v) {
        int[] f = {e.exceptionInjected(), e.exceptionPending(), e.exceptionHasPayload(), e.interruptInjected(),
                e.interruptShadow(), e.nmiInjected(), e.nmiPending(), e.nmiMasked(), e.smiSmm(), e.smiPending(),
                e.smiInsideNmi(), e.smiLatchedInit(), e.tripleFaultPending()};
        f[field] = v;
        return new VcpuEvents(f[0], e.exceptionNr(), e.exceptionHasErrorCode(), f[1], e.exceptionErrorCode(), f[3],
                e.interruptNr(), e.interruptSoft(), f[4], f[5], f[6], f[7], e.sipiVector(), e.flags(), f[8], f[9], f[10],
                f[11], f[12], f[2], e.exceptionPayload());
    }
}
