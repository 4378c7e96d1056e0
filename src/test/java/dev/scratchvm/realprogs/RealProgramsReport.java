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
