package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.util.Json;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Human- and machine-readable summaries of an image, for {@code scratchvm inspect FILE [--json]}.
 * Only a fully validated image is described, so "checksums OK" is a statement of fact.
 */
public final class ImageInspector {
    private ImageInspector() {
    }

    /**
     * Opens, validates and summarizes {@code image}, as text or as JSON. For a diff, its chain
     * of parents is followed and verified too, and shown (or what breaks it).
     */
    public static String inspect(Path image, boolean json) throws ImageException {
        try (ImageReader r = ImageReader.open(image)) {
            Chain chain = r.isDiff() ? chain(image) : null;
            return json ? json(r, chain) : text(r, chain);
        }
    }

    /** A diff's verified chain (base first), or why it cannot be rebuilt. */
    record Chain(java.util.List<Link> images, String error) {
    }

    record Link(String file, boolean diff, long storedPages, long zeroPages) {
    }

    private static Chain chain(Path image) {
        try (ImageChain c = ImageChain.open(image)) {
            java.util.List<Link> links = new java.util.ArrayList<>();
            for (ImageReader r : c.images()) {
                links.add(new Link(r.name(), r.isDiff(), r.pageMap().storedPages(), r.pageMap().zeroPages()));
            }
            return new Chain(links, null);
        } catch (ImageException e) {
            return new Chain(java.util.List.of(), e.getMessage());
        }
    }

    public static String text(ImageReader r) {
        return text(r, null);
    }

    static String text(ImageReader r, Chain chain) {
        MachineState s = r.state();
        VcpuState v = s.vcpu();
        KernelState k = s.kernel();
        PageMap map = r.pageMap();
        StringBuilder b = new StringBuilder();
        b.append("ScratchVM image ").append(r.name()).append('\n');
        row(b, "format", "version " + r.formatVersion() + ", " + r.fileSize() + " bytes");
        row(b, "checksums", "OK (header, state, page map, " + map.runCount() + " memory runs)");
        row(b, "kind", r.isDiff() ? "diff of sha256:" + r.parent().hashHex() + " (" + quoteIfNeeded(r.parent().pathHint()) + ")"
                : "full image");
        if (chain != null) {
            if (chain.error() != null) {
                row(b, "chain", "BROKEN: " + chain.error());
            } else {
                StringBuilder c = new StringBuilder();
                for (Link l : chain.images()) c.append(c.isEmpty() ? "" : " <- ").append(quoteIfNeeded(l.file()));
                row(b, "chain", c + " (" + chain.images().size() + " images, parents verified by SHA-256)");
            }
        }
        row(b, "memory", bytes(s.memory().size()) + " (" + s.memory().pageCount() + " pages), "
                + map.storedPages() + " pages stored (" + bytes(map.storedPages() * 4096) + ") in "
                + map.runCount() + " runs" + (r.isDiff() ? ", " + map.zeroPages() + " pages now zero" : ""));
        row(b, "registers", "rip=" + hex(v.regs().rip()) + " rsp=" + hex(v.regs().rsp())
                + " rflags=" + hex(v.regs().rflags()));
        row(b, "", "cr0=" + hex(v.sregs().cr0()) + " cr3=" + hex(v.sregs().cr3()) + " cr4=" + hex(v.sregs().cr4())
                + " efer=" + hex(v.sregs().efer()));
        row(b, "", "fs.base=" + hex(v.sregs().fs().base()) + " gs.base=" + hex(v.sregs().gs().base()));
        row(b, "vcpu", "mp_state " + v.mpState() + ", TSC " + v.tscKhz() + " kHz, " + v.cpuid().size()
                + " CPUID entries, " + v.msrs().size() + " MSRs, " + v.xcrs().size() + " XCRs, xsave "
                + v.xsave().length + " bytes");
        row(b, "brk", hex(k.brk()) + " (start " + hex(k.brkStart()) + ")");
        row(b, "mmap area", hex(k.mmapBase()) + " - " + hex(k.mmapTop()) + ", " + k.mappings().size() + " mappings");
        row(b, "cwd", quoteIfNeeded(k.cwd()));
        var sig = k.signals();
        if (!sig.equals(KernelState.SignalState.NONE)) {
            StringBuilder timers = new StringBuilder();
            for (KernelState.TimerState t : sig.timers()) {
                timers.append(timers.isEmpty() ? "" : ", ")
                        .append(switch (t.id()) {
                            case KernelState.TimerState.ITIMER_REAL -> "itimer";
                            case KernelState.TimerState.ITIMER_VIRTUAL -> "itimer virtual";
                            case KernelState.TimerState.ITIMER_PROF -> "itimer prof";
                            default -> "timer " + t.id();
                        })
                        .append(t.remainingNanos() > 0 ? String.format(" %.3f s%s left", t.remainingNanos() / 1e9,
                                t.clock() == KernelState.TimerState.CPU_CLOCK ? " of CPU" : "") : " disarmed");
            }
            row(b, "signals", "blocked " + hex(sig.blocked()) + ", " + sig.pending().size() + " pending"
                    + (sig.altStack() != null ? ", alternate stack at " + hex(sig.altStack().sp()) : "")
                    + (timers.isEmpty() ? "" : ", " + timers));
        }
        row(b, "open files", k.fds().size() + " fds, " + k.files().size() + " open file descriptions");
        Map<Integer, OpenFileState> files = filesById(k);
        Set<Integer> referenced = new HashSet<>();
        for (FdState d : k.fds()) {
            OpenFileState f = files.get(d.fileId());
            referenced.add(d.fileId());
            b.append(String.format("    fd %-4d %s%n", d.fd(), describe(k, f) + (d.closeOnExec() ? " cloexec" : "")));
        }
        for (OpenFileState f : k.files()) {
            if (!referenced.contains(f.id())) b.append("    (no fd)  ").append(describe(k, f)).append('\n');
        }
        return b.toString();
    }

    public static String json(ImageReader r) {
        return json(r, null);
    }

    static String json(ImageReader r, Chain chain) {
        MachineState s = r.state();
        VcpuState v = s.vcpu();
        KernelState k = s.kernel();
        PageMap map = r.pageMap();
        Json j = new Json().beginObject()
                .field("file", r.name())
                .field("formatVersion", r.formatVersion())
                .field("fileBytes", r.fileSize())
                .field("checksumsOk", true)
                .field("kind", r.isDiff() ? "diff" : "full");
        if (r.isDiff()) {
            j.name("parent").beginObject().field("sha256", r.parent().hashHex())
                    .field("pathHint", r.parent().pathHint()).endObject();
        }
        if (chain != null) {
            j.field("chainOk", chain.error() == null);
            if (chain.error() != null) j.field("chainError", chain.error());
            j.name("chain").beginArray();
            for (Link l : chain.images()) {
                j.beginObject().field("file", l.file()).field("kind", l.diff() ? "diff" : "full")
                        .field("storedPages", l.storedPages()).field("zeroPages", l.zeroPages()).endObject();
            }
            j.endArray();
        }
        j.name("sections").beginArray();
        for (ImageSection sec : r.sections()) {
            j.beginObject().field("type", sec.type().name()).field("offset", sec.offset())
                    .field("length", sec.length()).field("crc32c", hex(sec.crc32c() & 0xffffffffL)).endObject();
        }
        j.endArray();
        j.name("memory").beginObject().field("sizeBytes", s.memory().size()).field("pageSize", s.memory().pageSize())
                .field("pages", s.memory().pageCount()).field("storedPages", map.storedPages())
                .field("storedBytes", map.storedPages() * 4096).field("zeroPages", map.zeroPages())
                .field("runs", map.runCount()).endObject();
        j.name("vcpu").beginObject().field("mpState", v.mpState())
                .field("rip", hex(v.regs().rip())).field("rsp", hex(v.regs().rsp()))
                .field("rflags", hex(v.regs().rflags())).field("cr0", hex(v.sregs().cr0()))
                .field("cr3", hex(v.sregs().cr3())).field("cr4", hex(v.sregs().cr4()))
                .field("efer", hex(v.sregs().efer())).field("fsBase", hex(v.sregs().fs().base()))
                .field("gsBase", hex(v.sregs().gs().base())).field("tscKhz", v.tscKhz())
                .field("cpuidEntries", v.cpuid().size()).field("msrs", v.msrs().size())
                .field("xcrs", v.xcrs().size()).field("xsaveBytes", v.xsave().length).endObject();
        j.name("kernel").beginObject().field("brkStart", hex(k.brkStart())).field("brk", hex(k.brk()))
                .field("mmapBase", hex(k.mmapBase())).field("mmapTop", hex(k.mmapTop()))
                .field("mappings", k.mappings().size()).field("cwd", k.cwd());
        j.name("files").beginArray();
        for (OpenFileState f : k.files()) {
            j.beginObject().field("id", f.id()).field("kind", f.kind().name()).field("path", f.path())
                    .field("flags", OpenFlags.describe(f.flags())).field("mode", "0" + Integer.toOctalString(f.mode()))
                    .field("offset", f.offset());
            j.name("fingerprint").beginObject().field("size", f.fingerprint().size())
                    .field("mtimeNanos", f.fingerprint().mtimeNanos())
                    .field("crc32c", hex(f.fingerprint().crc32c() & 0xffffffffL)).endObject();
            j.endObject();
        }
        j.endArray();
        j.name("fds").beginArray();
        for (FdState d : k.fds()) {
            j.beginObject().field("fd", d.fd()).field("fileId", d.fileId()).field("closeOnExec", d.closeOnExec())
                    .endObject();
        }
        j.endArray().endObject().endObject();
        return j + "\n";
    }

    private static String describe(KernelState k, OpenFileState f) {
        if (f == null) return "(unknown file)";
        String what = switch (f.kind()) {
            case STDIN -> "stdin";
            case STDOUT -> "stdout";
            case STDERR -> "stderr";
            case PIPE, EVENTFD, TIMERFD, EPOLL, SIGNALFD -> {
                String object = VmmFileSummary.of(k, f.id());
                yield object + " flags=" + OpenFlags.describe(f.flags());
            }
            default -> quoteIfNeeded(f.path()) + " (" + f.kind().name().toLowerCase() + ")";
        };
        if (WaitObjectRules.isVmmObject(f.kind())) return what;
        String size = f.fingerprint().size() < 0 ? "" : " size=" + f.fingerprint().size();
        String held = f.content().length == 0 ? "" : " holding " + f.content().length + " bytes";
        return what + " flags=" + OpenFlags.describe(f.flags()) + " offset=" + f.offset() + size + held;
    }

    private static Map<Integer, OpenFileState> filesById(KernelState k) {
        Map<Integer, OpenFileState> m = new HashMap<>();
        for (OpenFileState f : k.files()) m.put(f.id(), f);
        return m;
    }

    /** Paths with spaces, quotes or control characters are shown as a JSON string, so the line stays unambiguous. */
    private static String quoteIfNeeded(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c == '"' || c == '\\' || c == 0x7f || c == '\u2028' || c == '\u2029') {
                StringBuilder b = new StringBuilder();
                Json.string(b, s);
                return b.toString();
            }
        }
        return s.isEmpty() ? "\"\"" : s;
    }

    private static void row(StringBuilder b, String label, String value) {
        b.append(String.format("  %-12s %s%n", label, value));
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static String bytes(long n) {
        if (n >= 1L << 30 && n % (1L << 30) == 0) return (n >> 30) + " GiB";
        if (n >= 1L << 20 && n % (1L << 20) == 0) return (n >> 20) + " MiB";
        if (n >= 1L << 10 && n % (1L << 10) == 0) return (n >> 10) + " KiB";
        return n + " bytes";
    }
}
