package dev.scratchvm.realprogs;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The real programs the differential tests run, with what is known to fail and why, as
 * Markdown for docs/compatibility.md. The lists are the tests' own, which the tests keep true.
 */
public final class RealProgramsReport {
    private RealProgramsReport() {
    }

    public static String markdown() {
        StringBuilder out = new StringBuilder();
        out.append("### Busybox applets (Debian's busybox-static)\n\n")
                .append("Each invocation runs in the VM and natively on the same files and stdin; stdout, the exit status\n")
                .append("and the resulting files must match. Kept true by `src/test/java/dev/scratchvm/realprogs/BusyboxAppletsTest.java`.\n\n");
        table(out, BusyboxAppletsTest.APPLETS, BusyboxAppletsTest.Applet::label, BusyboxAppletsTest.KNOWN_FAILING);
        out.append("\n### Debian libraries (zlib's minigzip, SQLite)\n\n")
                .append("Static builds against Debian's libz.a and libsqlite3.a, compared the same way. Kept true by\n")
                .append("`src/test/java/dev/scratchvm/realprogs/DebianLibrariesTest.java`.\n\n");
        table(out, DebianLibrariesTest.RUNS, DebianLibrariesTest.Run::label, DebianLibrariesTest.KNOWN_FAILING);
        out.append("\n### Across save and restore\n\n")
                .append("These runs are also stopped in the middle of their work, after the completed system calls 1, 4, 16,\n")
                .append("64, ... and after every unlink; at each stop the VM is saved to an image file, closed, and restored\n")
                .append("from the file in a fresh VM that runs on. Stdout (all pieces joined), the exit status and the resulting\n")
                .append("files must equal an uninterrupted native run's. (gunzip and SQLite hold files they deleted open at\n")
                .append("some stops: those travel in the image.) The busybox applets work on a 20000-line file here;\n")
                .append("minigzip and SQLite are the runs above. Kept true by `src/test/java/dev/scratchvm/realprogs/AcrossSaveRestoreTest.java`.\n\n");
        List<String> labels = new java.util.ArrayList<>();
        AcrossSaveRestoreTest.APPLETS.forEach(a -> labels.add("busybox " + a.label()));
        DebianLibrariesTest.RUNS.forEach(r -> labels.add(r.label()));
        Map<String, String> failing = new java.util.LinkedHashMap<>();
        AcrossSaveRestoreTest.KNOWN_FAILING.forEach((k, v) -> failing.put(labels.contains(k) ? k : "busybox " + k, v));
        table(out, labels, l -> l, failing);
        if (!AcrossSaveRestoreTest.KNOWN_REFUSALS.isEmpty()) out.append('\n');
        AcrossSaveRestoreTest.KNOWN_REFUSALS.forEach((k, v) -> out.append("`").append(k)
                .append("`: at some stops the VMM refuses to save (\"").append(v).append("\"); the guest goes on in the same VM there.\n"));
        return out.toString();
    }

    private static <T> void table(StringBuilder out, List<T> runs, Function<T, String> label, Map<String, String> failing) {
        long passing = runs.stream().map(label).filter(l -> !failing.containsKey(l)).count();
        out.append(passing).append(" of ").append(runs.size()).append(" pass.\n\n");
        out.append("| Invocation | Result |\n|---|---|\n");
        for (T run : runs) {
            String l = label.apply(run), cause = failing.get(l);
            out.append("| `").append(l.replace("|", "\\|")).append("` | ")
                    .append(cause == null ? "passes" : "fails: " + cause.replace("|", "\\|")).append(" |\n");
        }
    }
}
