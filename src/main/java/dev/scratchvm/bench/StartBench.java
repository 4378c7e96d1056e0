package dev.scratchvm.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Cold start of real VMM processes through the launcher: launch to the guest's first
 * instruction for {@code run} and for {@code restore}, and the VMM's memory beyond guest
 * memory. The floor is starting the same JVM to print its version.
 */
record StartBench(Bench.Profile profile, Path home, Path work, Bench.Programs programs) {

    List<Result> run() throws Exception {
        List<Double> run = new ArrayList<>(), restore = new ArrayList<>(), jvm = new ArrayList<>(), rss = new ArrayList<>();
        for (int i = 0; i < profile.startRuns(); i++) {
            Files.deleteIfExists(work.resolve("ay_caramba"));
            Path metrics = work.resolve("start-metrics.jsonl");
            launch(VmmCommand.of(home, "run", "--trace=none", "--metrics", metrics.toString(), "--image", "start.img",
                    programs.lab().toString()));
            run.add(MetricsFile.number(MetricsFile.event(metrics, "started"), "launch_to_first_instruction_ms"));
            resetLabFile("Hello World !!!\n");
            launch(VmmCommand.of(home, "restore", "--trace=none", "--metrics", metrics.toString(), "start.img"));
            var started = MetricsFile.event(metrics, "started");
            restore.add(MetricsFile.number(started, "launch_to_first_instruction_ms"));
            rss.add((MetricsFile.number(started, "vmm_rss_bytes") - MetricsFile.number(started, "guest_resident_bytes")) / 1048576.0);
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
}
