package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.realprogs.RealProgramsReport;
import dev.scratchvm.boot.BootLayout;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * docs/compatibility.md, rendered from the live dispatch table of a freshly booted kernel, the
 * hand-kept notes of {@link SyscallNotes} and the real-program tests' own result lists. The
 * call names come from syscalls-x86_64.txt, made once from the kernel's asm/unistd_64.h.
 */
final class CompatibilityDoc {
    enum Status { IMPLEMENTED, PARTIAL, NOT_IMPLEMENTED }

    record Row(int nr, String name, Status status, String note, SyscallTable.Entry entry) {
    }

    private CompatibilityDoc() {
    }

    /** Every x86-64 Linux system call, by number, as the kernel's header names it. */
    static List<Row> rows(SyscallTable table) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String line : kernelCalls()) {
            String[] f = line.split(" ");
            int nr = Integer.parseInt(f[0]);
            String name = f[1];
            SyscallTable.Entry e = table.lookup(nr);
            if (e == null) rows.add(new Row(nr, name, Status.NOT_IMPLEMENTED, "", null));
            else if (SyscallNotes.DECLINED.containsKey(name)) {
                rows.add(new Row(nr, name, Status.NOT_IMPLEMENTED, SyscallNotes.DECLINED.get(name), e));
            } else if (SyscallNotes.PARTIAL.containsKey(name)) {
                rows.add(new Row(nr, name, Status.PARTIAL, SyscallNotes.PARTIAL.get(name), e));
            } else rows.add(new Row(nr, name, Status.IMPLEMENTED, "", e));
        }
        return rows;
    }

    static List<String> kernelCalls() throws IOException {
        try (InputStream in = CompatibilityDoc.class.getResourceAsStream("/syscalls-x86_64.txt")) {
            if (in == null) throw new IOException("syscalls-x86_64.txt is not on the test class path");
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        }
    }

    /** The dispatch table of a kernel booted as for a guest program (no vCPU needed to read it). */
    static SyscallTable liveTable(Path emptyRoot) {
        try (GuestMemory memory = GuestMemory.allocate(16L << 20, BootLayout.GUEST_BASE);
             GuestRoot root = GuestRoot.open(emptyRoot);
             LinuxKernel kernel = LinuxKernel.boot(memory, root, Trace.none(), new NoCpu(), Stdio.INHERIT,
                     BootLayout.GUEST_BASE + (1 << 20), memory.size() - (1 << 20))) {
            return kernel.table();
        }
    }

    static String render(List<Row> rows) {
        long implemented = rows.stream().filter(r -> r.status() == Status.IMPLEMENTED).count();
        long partial = rows.stream().filter(r -> r.status() == Status.PARTIAL).count();
        long missing = rows.stream().filter(r -> r.status() == Status.NOT_IMPLEMENTED).count();
        StringBuilder out = new StringBuilder();
        out.append("# Linux compatibility\n\n")
                .append("<!-- Generated from the VMM's system call table by CompatibilityDocTest; do not edit. Regenerate:\n")
                .append("     SCRATCHVM_TESTVM=off mvn -B -q -o test -Dtest=CompatibilityDocTest -Dcompat.doc.write=true -->\n\n")
                .append("ScratchVM has no guest kernel: the VMM answers the guest's x86-64 Linux system calls itself\n")
                .append("(package `dev.scratchvm.linux`). Every system call of the x86-64 Linux ABI is listed below by number,\n")
                .append("with what the VMM does with it. A call it does not implement returns `-ENOSYS`, as an older\n")
                .append("kernel would; `--trace=all` prints it as `SYSCALL <nr> (not implemented)`.\n\n")
                .append("| Status | Calls |\n|---|---|\n")
                .append("| implemented | ").append(implemented).append(" |\n")
                .append("| partial | ").append(partial).append(" |\n")
                .append("| not implemented (ENOSYS) | ").append(missing).append(" |\n")
                .append("| total | ").append(rows.size()).append(" |\n\n")
                .append("*Implemented* means the Linux semantics for a single-threaded process, saved and restored with the VM;\n")
                .append("*partial* names what is missing (kept in `SyscallNotes`). The names are the kernel's\n")
                .append("(`asm/unistd_64.h`); numbers absent from the table are not assigned on x86-64.\n\n")
                .append("## Real programs\n\n")
                .append("Unmodified programs run by the differential tests, with their known failures and causes\n")
                .append("(run with `-Dgroups=real-programs`).\n\n")
                .append(RealProgramsReport.markdown())
                .append("\n## System calls\n\n")
                .append("| Nr | Name | Status | Missing |\n|---:|---|---|---|\n");
        for (Row r : rows) {
            String status = switch (r.status()) {
                case IMPLEMENTED -> "implemented";
                case PARTIAL -> "partial";
                case NOT_IMPLEMENTED -> "not implemented (ENOSYS)";
            };
            out.append("| ").append(r.nr()).append(" | `").append(r.name()).append("` | ").append(status).append(" | ")
                    .append(r.note()).append(" |\n");
        }
        return out.toString();
    }

}
