package dev.scratchvm.linux;

import dev.scratchvm.boot.ProcessRecord;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.x86.CpuidEntry;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The contents of the VM's /proc files, generated from the VM's own state: its memory and
 * mappings, the program's arguments in guest memory, the guest's CPUID, its signal
 * dispositions. Nothing here reads the host's /proc.
 */
final class ProcFiles {
    private static final long PAGE = GuestMemory.PAGE_SIZE;
    private static final int PT_LOAD = 1, PF_X = 1, PF_W = 2, PF_R = 4;
    /** Longest content kept for one open /proc file (the saved state's limit for it). */
    static final int MAX_BYTES = 1 << 20;

    private final GuestMemory memory;
    private final AddressSpace space;
    private final GuestRoot root;
    private final Signals signals;
    private final IntSupplier umask;
    private final Supplier<List<CpuidEntry>> cpuid;

    ProcFiles(GuestMemory memory, AddressSpace space, GuestRoot root, Signals signals, IntSupplier umask,
              Supplier<List<CpuidEntry>> cpuid) {
        this.memory = memory;
        this.space = space;
        this.root = root;
        this.signals = signals;
        this.umask = umask;
        this.cpuid = cpuid;
    }

    /** The program's path in the guest (below the root), or as it was started when it lies outside; null if unknown. */
    String exe() {
        ProcessRecord r = ProcessRecord.read(memory);
        if (r == null) return null;
        String execfn = r.execfn(memory);
        if (execfn.isEmpty()) return null;
        try {
            Path base = root.hostPath();
            // Relative to the VMM's directory (the command line's program), else to the root (a VMM
            // embedded in another program, whose directory is not the guest's).
            for (Path host : List.of(Path.of(execfn).toAbsolutePath().normalize(), base.resolve(execfn).normalize())) {
                if (host.startsWith(base) && java.nio.file.Files.exists(host)) {
                    return "/" + base.relativize(host).toString().replace('\\', '/');
                }
            }
            // Linux's link is always absolute.
            return Path.of(execfn).toAbsolutePath().normalize().toString();
        } catch (java.nio.file.InvalidPathException e) {
            return execfn;
        }
    }

    /** The argument strings, NUL-terminated, read from guest memory (arg_start to arg_end) as Linux does. */
    byte[] cmdline() {
        ProcessRecord r = ProcessRecord.read(memory);
        if (r == null) return new byte[0];
        long len = Math.min(r.argEnd() - r.argStart(), MAX_BYTES);
        var s = memory.slice(r.argStart(), len);
        return s == null ? new byte[0] : s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    private record Region(long start, long end, String perms, long offset, String name) {
    }

    private List<Region> regions() {
        List<Region> out = new ArrayList<>();
        String exe = exe();
        ProcessRecord r = ProcessRecord.read(memory);
        if (r != null && r.phdr() != 0) {
            for (int i = 0; i < r.phnum(); i++) {
                long ph = r.phdr() + 56L * i;
                if (!memory.contains(ph, 56)) break;
                var h = memory.slice(ph, 56);
                int type = h.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0);
                if (type != PT_LOAD) continue;
                int flags = h.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 4);
                long offset = h.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8);
                long vaddr = h.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 16) + r.bias();
                long memsz = h.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 40);
                long start = vaddr & ~(PAGE - 1), end = AddressSpace.pageUp(vaddr + memsz);
                if (memsz <= 0 || start >= end || !memory.contains(start, end - start)) continue;
                String perms = ((flags & PF_R) != 0 ? "r" : "-") + ((flags & PF_W) != 0 ? "w" : "-")
                        + ((flags & PF_X) != 0 ? "x" : "-") + "p";
                out.add(new Region(start, end, perms, offset & ~(PAGE - 1), exe == null ? "" : exe));
            }
        }
        if (space.brk() > space.brkStart()) {
            out.add(new Region(space.brkStart(), AddressSpace.pageUp(space.brk()), "rw-p", 0, "[heap]"));
        }
        for (Mapping m : space.mappings()) {
            String perms = ((m.prot() & 1) != 0 ? "r" : "-") + ((m.prot() & 2) != 0 ? "w" : "-")
                    + ((m.prot() & 4) != 0 ? "x" : "-") + "p";
            out.add(new Region(m.start(), m.start() + m.length(), perms, 0, ""));
        }
        out.add(new Region(space.mmapTop() + PAGE, memory.size(), "rw-p", 0, "[stack]"));
        out.sort(Comparator.comparingLong(Region::start));
        return out;
    }

    byte[] maps() {
        StringBuilder b = new StringBuilder();
        for (Region g : regions()) {
            int lineStart = b.length();
            b.append(String.format("%08x-%08x %s %08x 00:00 0", g.start(), g.end(), g.perms(), g.offset()));
            if (!g.name().isEmpty()) {
                // Linux pads the name to the 73rd column.
                while (b.length() - lineStart < 73) b.append(' ');
                b.append(g.name());
            }
            b.append('\n');
            if (b.length() > MAX_BYTES) break;
        }
        return bytes(b);
    }

    private long vmSizeKb() {
        long total = 0;
        for (Region g : regions()) total += g.end() - g.start();
        return total / 1024;
    }

    byte[] status() {
        int[] ids = Libc.ids();
        int pid = Libc.getpid();
        String exe = exe();
        String name = exe == null ? "" : exe.substring(exe.lastIndexOf('/') + 1);
        if (name.length() > 15) name = name.substring(0, 15); // TASK_COMM_LEN - 1
        long ignored = 0, caught = 0;
        for (SignalAction a : signals.actions()) {
            long bit = 1L << (a.signal() - 1);
            if (a.handler() == Signals.SIG_IGN) ignored |= bit;
            else if (a.handler() != Signals.SIG_DFL) caught |= bit;
        }
        long rssKb = memory.residentBytes() / 1024, sizeKb = vmSizeKb();
        StringBuilder b = new StringBuilder();
        b.append("Name:\t").append(name).append('\n');
        b.append(String.format("Umask:\t%04o%n", umask.getAsInt()));
        b.append("State:\tR (running)\n");
        b.append("Tgid:\t").append(pid).append("\nNgid:\t0\nPid:\t").append(pid).append("\nPPid:\t0\nTracerPid:\t0\n");
        b.append("Uid:\t").append(ids[0]).append('\t').append(ids[1]).append('\t').append(ids[1]).append('\t').append(ids[1]).append('\n');
        b.append("Gid:\t").append(ids[2]).append('\t').append(ids[3]).append('\t').append(ids[3]).append('\t').append(ids[3]).append('\n');
        b.append("FDSize:\t").append(FdTable.MAX_FDS).append("\nGroups:\t\n");
        b.append(String.format("VmPeak:\t%8d kB%nVmSize:\t%8d kB%nVmHWM:\t%8d kB%nVmRSS:\t%8d kB%n", sizeKb, sizeKb, rssKb, rssKb));
        b.append("Threads:\t1\nSigQ:\t0/0\n");
        b.append(String.format("SigPnd:\t%016x%nShdPnd:\t%016x%nSigBlk:\t%016x%nSigIgn:\t%016x%nSigCgt:\t%016x%n",
                0L, 0L, 0L, ignored, caught));
        b.append("CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n");
        b.append("CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n");
        b.append("Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
        b.append("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
        return bytes(b);
    }

    byte[] meminfo() {
        long totalKb = memory.size() / 1024, usedKb = memory.residentBytes() / 1024;
        long freeKb = Math.max(0, totalKb - usedKb);
        String[][] rows = {{"MemTotal", "" + totalKb}, {"MemFree", "" + freeKb}, {"MemAvailable", "" + freeKb},
                {"Buffers", "0"}, {"Cached", "0"}, {"SwapCached", "0"}, {"Active", "" + usedKb}, {"Inactive", "0"},
                {"SwapTotal", "0"}, {"SwapFree", "0"}, {"Dirty", "0"}, {"Writeback", "0"}, {"AnonPages", "" + usedKb},
                {"Mapped", "0"}, {"Shmem", "0"}, {"CommitLimit", "" + totalKb}, {"Committed_AS", "" + vmSizeKb()}};
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) b.append(String.format("%-16s%8s kB%n", r[0] + ":", r[1]));
        return bytes(b);
    }

    byte[] mounts() {
        return "rootfs / rootfs rw 0 0\n".getBytes(StandardCharsets.UTF_8);
    }

    byte[] cpuinfo() {
        return bytes(new StringBuilder(CpuInfo.describe(cpuid.get())));
    }

    private static byte[] bytes(StringBuilder b) {
        byte[] out = b.toString().getBytes(StandardCharsets.UTF_8);
        return out.length <= MAX_BYTES ? out : java.util.Arrays.copyOf(out, MAX_BYTES);
    }
}
