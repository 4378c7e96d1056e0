package dev.scratchvm.realprogs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One program run twice, natively and in ScratchVM, each in a fresh copy of the same
 * directory with the same stdin and environment; what differs between the two runs.
 */
record Differential(GuestRun expected, GuestRun actual, String files) {
    static final Map<String, String> ENV = Map.of("PATH", "/bin:/usr/bin", "LC_ALL", "C", "TZ", "UTC", "HOME", "/");

    /**
     * @param vmArgv    the guest's argv
     * @param nativeCmd the same run as a host command line
     */
    static Differential run(Path program, Path template, List<String> vmArgv, List<String> nativeCmd, String stdin,
                            Path caseDir, long memory) throws Exception {
        return run(program, template, vmArgv, nativeCmd, stdin, caseDir, memory, false);
    }

    /** As above; when {@code interrupted}, the VM's run is saved and restored on the way ({@link GuestRun#inVm}). */
    static Differential run(Path program, Path template, List<String> vmArgv, List<String> nativeCmd, String stdin,
                            Path caseDir, long memory, boolean interrupted) throws Exception {
        Path vmRoot = caseDir.resolve("vm"), nativeDir = caseDir.resolve("native"), io = caseDir.resolve("io");
        Files.createDirectories(io);
        FileTree.copy(template, vmRoot);
        FileTree.copy(template, nativeDir);
        Path in = template.resolve(stdin);
        FileTime recent = FileTime.from(Instant.now().minusSeconds(3600));
        List<String> env = ENV.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted().toList();
        GuestRun expected = GuestRun.natively(nativeCmd, nativeDir, ENV, in, io);
        GuestRun actual = GuestRun.inVm(program, vmRoot, vmArgv, env, in, io, memory, interrupted);
        String files = FileTree.firstDifference(FileTree.describe(nativeDir, recent), FileTree.describe(vmRoot, recent));
        deleteTree(caseDir);
        return new Differential(expected, actual, files);
    }

    boolean same() {
        return expected.exit() == actual.exit() && Arrays.equals(expected.stdout(), actual.stdout()) && files == null;
    }

    /**
     * Null when the runs agree; else why not: the first system call the VMM answered ENOSYS
     * (and the others after it), leaving out those every run of the program makes
     * ({@code everyRun}, e.g. a prctl it does without), else what differs.
     */
    String cause(Set<String> everyRun) {
        if (same()) return null;
        List<String> missing = actual.missingCalls().stream().filter(c -> !everyRun.contains(c)).toList();
        if (!missing.isEmpty()) {
            return "missing " + missing.getFirst() + (missing.size() > 1 ? " (then " + String.join(", ", missing.subList(1, missing.size())) + ")" : "");
        }
        if (actual.firstEinval() != null) {
            return "refused: " + actual.firstEinval() + " returned EINVAL";
        }
        if (expected.exit() != actual.exit()) {
            return "exit " + actual.exit() + " (" + actual.ended() + "), natively " + expected.exit() + "; stderr: "
                    + firstLine(actual.stderr());
        }
        if (!Arrays.equals(expected.stdout(), actual.stdout())) {
            return "stdout differs: " + firstDifferentLine(expected.stdout(), actual.stdout());
        }
        return "files differ: " + files;
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private static String firstDifferentLine(byte[] expected, byte[] actual) {
        String[] e = new String(expected, StandardCharsets.ISO_8859_1).split("\n", -1);
        String[] a = new String(actual, StandardCharsets.ISO_8859_1).split("\n", -1);
        for (int i = 0; i < Math.max(e.length, a.length); i++) {
            String el = i < e.length ? e[i] : "(end)", al = i < a.length ? a[i] : "(end)";
            if (!el.equals(al)) return "line " + (i + 1) + " natively \"" + el + "\", in the VM \"" + al + "\"";
        }
        return "(same lines)";
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
