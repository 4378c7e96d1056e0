package dev.scratchvm.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cold start of real VMM processes through the launcher: launch to the guest's first
 * instruction for {@code run} and for {@code restore}, and the VMM's memory beyond guest
 * memory. The floor is starting the same JVM to print its version.
 */
record StartBench(Bench.Profile profile, Path home, Path work, Bench.Programs programs) {
    private static final Pattern START = Pattern.compile("launch to first guest instruction: ([0-9.]+) ms");
    private static final Pattern RSS = Pattern.compile("VMM RSS ([0-9.]+) MiB, guest memory resident ([0-9.]+) MiB");

    List<Result> run() throws Exception {
        List<Double> run = new ArrayList<>(), restore = new ArrayList<>(), jvm = new ArrayList<>(), rss = new ArrayList<>();
        for (int i = 0; i < profile.startRuns(); i++) {
            Files.deleteIfExists(work.resolve("ay_caramba"));
            String out = launch(VmmCommand.of(home, "run", "-v", "--trace=none", "--image", "start.img", programs.lab().toString()));
            run.add(number(START, out, 1));
            resetLabFile("Hello World !!!\n");
            String again = launch(VmmCommand.of(home, "restore", "-v", "--trace=none", "start.img"));
            restore.add(number(START, again, 1));
            rss.add(number(RSS, again, 1) - number(RSS, again, 2));
            long t = System.nanoTime();
            launch(List.of(javaBinary(), "-Xshare:auto", "-version"));
            jvm.add((System.nanoTime() - t) / 1e6);
        }
        Stats floor = Stats.of(jvm), runStats = Stats.of(run), restoreStats = Stats.of(restore);
        String how = VmmCommand.viaLauncher() ? null : "not started through ./scratchvm: no AOT cache, so slower than users see";
        return List.of(
                new Result("start: launch to first guest instruction", "ms", runStats, "JVM start (java -version)", floor,
                        "<= 120 ms", runStats.median() <= 120, how),
                new Result("restore: launch to first guest instruction", "ms", restoreStats, "JVM start (java -version)", floor,
                        "<= 120 ms", restoreStats.median() <= 120, how),
                new Result("VMM RSS beyond guest memory, lab VM", "MiB", Stats.of(rss), null, null, null, null, null));
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** The restored lab program checks that its file is as it was at SAVE. */
    private void resetLabFile(String content) throws java.io.IOException {
        Files.writeString(work.resolve("ay_caramba"), content);
    }

    private String launch(List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true);
        // The launcher stamps its start; without it, stamp ours so the VMM can report launch-to-guest.
        java.time.Instant now = java.time.Instant.now();
        pb.environment().put("SCRATCHVM_LAUNCH_NS", Long.toString(now.getEpochSecond() * 1_000_000_000L + now.getNano()));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + ": timed out");
        }
        return out;
    }

    private static double number(Pattern pattern, String output, int group) {
        Matcher m = pattern.matcher(output);
        if (!m.find()) throw new IllegalStateException("expected '" + pattern.pattern() + "' in:\n" + output);
        return Double.parseDouble(m.group(group));
    }
}
