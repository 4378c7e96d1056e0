package dev.scratchvm.image;

import dev.scratchvm.boot.LongMode;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
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
import dev.scratchvm.testing.MachineStates;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Machine states for tests: a realistic one, and reproducible random ones that cover edge values. */
public final class TestStates {
    private TestStates() {
    }

    /**
     * A plausible state of a static program that has opened a couple of files, as ScratchVM
     * saves it: its own long-mode set-up, the program at 2 MiB, the stack at the top of
     * {@code memorySize} (at least 4 MiB) and one anonymous mapping below it.
     */
    public static MachineState sample(long memorySize) {
        SpecialRegisters own = LongMode.sregs(MachineStates.longMode(MachineStates.DATA));
        Segment fs = own.fs().withBase(0x2c9880);
        SpecialRegisters sregs = own.withFs(fs);
        Registers regs = new Registers(1, 2, 3, 4, 5, 6, memorySize - 0x2000, 0, 8, 9, 10, 11, 12, 13, 14, 15,
                0x201bc5, 0x202);
        byte[] xsave = new byte[4096];
        for (int i = 0; i < xsave.length; i++) xsave[i] = (byte) (i * 31);
        List<CpuidEntry> cpuid = new ArrayList<>();
        for (int i = 0; i < 40; i++) cpuid.add(new CpuidEntry(i, 0, 0, 0x756e6547 + i, i * 7, -i, 0x8000_0000 | i));
        List<Msr> msrs = new ArrayList<>(LongMode.syscallMsrs());
        msrs.add(new Msr(0x10, 123456789L));
        VcpuState vcpu = new VcpuState(0, regs, sregs, xsave, List.of(new Xcr(0, 7)),
                new DebugRegisters(List.of(0L, 0L, 0L, 0L), 0xffff0ff0L, 0x400, 0), msrs,
                new VcpuEvents(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0), cpuid, 2_400_000);
        long mmapTop = memorySize - 0x101000;
        KernelState kernel = new KernelState(0x2c6000, 0x2e8000, 0x2c6000, mmapTop,
                List.of(new Mapping(mmapTop - 0x21000, 0x21000, 3)), "/work", 0x2ca0d0, 0x2ca0e0,
                with(MachineStates.stdioFiles(), new OpenFileState(3, FileKind.REGULAR, "/data/input \"1\".txt", 02000000,
                        0644, 120, new FileFingerprint(4096, 1_700_000_000_123_456_789L, 0xcafebabe))),
                with(MachineStates.stdioFds(), new FdState(3, 3, true), new FdState(4, 3, false)));
        return new MachineState(vcpu, new MemoryState(memorySize, 4096), kernel);
    }

    /** {@code first} followed by {@code more}. */
    @SafeVarargs
    private static <T> List<T> with(List<T> first, T... more) {
        List<T> all = new ArrayList<>(first);
        all.addAll(List.of(more));
        return List.copyOf(all);
    }

    /** A random, valid state; the same seed always gives the same state. */
    static MachineState random(long seed) {
        Random r = new Random(seed);
        VcpuState vcpu = new VcpuState(i(r), new Registers(l(r), l(r), l(r), l(r), l(r), l(r), l(r), l(r), l(r),
                l(r), l(r), l(r), l(r), l(r), l(r), l(r), l(r), l(r)),
                new SpecialRegisters(seg(r), seg(r), seg(r), seg(r), seg(r), seg(r), seg(r), seg(r),
                        new DescriptorTable(l(r), i(r)), new DescriptorTable(l(r), i(r)), l(r), l(r), l(r), l(r),
                        l(r), l(r), l(r), List.of(l(r), l(r), l(r), l(r))),
                bytes(r, r.nextInt(8) == 0 ? 0 : r.nextInt(5000)),
                list(r, 4, () -> new Xcr(i(r), l(r))),
                new DebugRegisters(List.of(l(r), l(r), l(r), l(r)), l(r), l(r), l(r)),
                list(r, 30, () -> new Msr(i(r), l(r))),
                new VcpuEvents(i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r),
                        i(r), i(r), i(r), i(r), i(r), i(r), l(r)),
                list(r, 60, () -> new CpuidEntry(i(r), i(r), i(r), i(r), i(r), i(r), i(r))), l(r));
        List<OpenFileState> files = new ArrayList<>();
        int nFiles = r.nextInt(6);
        for (int id = 0; id < nFiles; id++) {
            FileKind kind = FileKind.values()[r.nextInt(FileKind.values().length)];
            files.add(new OpenFileState(id * 3 + 1, kind, text(r), i(r), i(r), l(r),
                    r.nextBoolean() ? FileFingerprint.NONE : new FileFingerprint(l(r), l(r), i(r))));
        }
        List<FdState> fds = new ArrayList<>();
        for (int fd = 0; nFiles > 0 && fd < r.nextInt(10); fd++) {
            fds.add(new FdState(fd * 2 + r.nextInt(2), files.get(r.nextInt(nFiles)).id(), r.nextBoolean()));
        }
        KernelState kernel = new KernelState(l(r), l(r), l(r), l(r), list(r, 10, () -> new Mapping(l(r), l(r), i(r))),
                text(r), l(r), l(r), files, fds);
        long pages = 1 + (r.nextBoolean() ? r.nextInt(1 << 20) : (long) r.nextInt(1 << 24));
        return new MachineState(vcpu, new MemoryState(pages * 4096, 4096), kernel);
    }

    private static final long[] EDGE_LONGS = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE, 0xffffffffL, 1L << 47};
    private static final int[] EDGE_INTS = {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 0xffff};
    private static final String ALPHABET = "abcXYZ019/._- \"\\\téü日本\u2028\u0001";

    private static long l(Random r) {
        return r.nextInt(4) == 0 ? EDGE_LONGS[r.nextInt(EDGE_LONGS.length)] : r.nextLong();
    }

    private static int i(Random r) {
        return r.nextInt(4) == 0 ? EDGE_INTS[r.nextInt(EDGE_INTS.length)] : r.nextInt();
    }

    private static Segment seg(Random r) {
        return new Segment(l(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r), i(r));
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static String text(Random r) {
        StringBuilder b = new StringBuilder();
        int n = r.nextInt(8) == 0 ? 0 : r.nextInt(40);
        for (int k = 0; k < n; k++) b.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        if (r.nextInt(10) == 0) b.appendCodePoint(0x1F600);
        return b.toString();
    }

    private static <T> List<T> list(Random r, int max, java.util.function.Supplier<T> element) {
        List<T> out = new ArrayList<>();
        int n = r.nextInt(max + 1);
        for (int k = 0; k < n; k++) out.add(element.get());
        return out;
    }
}
