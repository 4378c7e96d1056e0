package dev.scratchvm.cli;

import dev.scratchvm.control.Controller;
import dev.scratchvm.vmm.Machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code -v}: the VMM's own measurements of a run, as events arrive, on stderr. */
final class Report implements Controller.Listener {
    private final Machine machine;
    private final String prefix;

    Report(Machine machine, String prefix) {
        this.machine = machine;
        this.prefix = prefix;
    }

    @Override
    public void on(Controller.Event event) {
        switch (event) {
            case Controller.Event.Started s -> {
                launchToFirstInstruction(s.epochNanos());
                memory();
            }
            case Controller.Event.Paused p -> System.err.printf("%spaused in %.3f ms%n", prefix, p.latencyNanos() / 1e6);
            case Controller.Event.Resumed r -> System.err.printf("%sresumed%n", prefix);
            case Controller.Event.SnapshotTaken t -> System.err.printf(
                    "%ssnapshot %s (%s): %d pages, %d bytes in %.2f ms (fsync %.2f ms), guest paused %.2f ms%n", prefix,
                    t.snapshot().image(), t.snapshot().kind().name().toLowerCase(), t.snapshot().pagesStored(),
                    t.snapshot().bytesWritten(), t.snapshot().totalNanos() / 1e6, t.snapshot().syncNanos() / 1e6,
                    t.pausedNanos() / 1e6);
            case Controller.Event.Ended e -> {
            }
            case Controller.Event.MigrationRound m -> {
            }
            case Controller.Event.MigrationEnded m -> {
            }
        }
    }

    private void launchToFirstInstruction(long firstEntryEpochNanos) {
        Double ms = launchToFirstInstructionMs(firstEntryEpochNanos);
        if (ms != null) System.err.printf("%slaunch to first guest instruction: %.1f ms%n", prefix, ms);
    }

    /** Launch (as stamped by the launcher) to the guest's first instruction in this VMM; null if not stamped. */
    static Double launchToFirstInstructionMs(long firstEntryEpochNanos) {
        String launch = System.getenv("SCRATCHVM_LAUNCH_NS");
        if (launch == null || firstEntryEpochNanos == 0) return null;
        try {
            return (firstEntryEpochNanos - Long.parseLong(launch.trim())) / 1e6;
        } catch (NumberFormatException e) {
            return null; // not stamped by our launcher
        }
    }

    /** The VMM's resident memory next to the part of it that is guest memory. */
    private void memory() {
        long rss = vmmRssBytes();
        if (rss < 0) return;
        double guest = machine.memory().residentBytes() / (double) (1 << 20);
        System.err.printf("%sVMM RSS %.1f MiB, guest memory resident %.1f MiB%n", prefix, rss / 1048576.0, guest);
    }

    /** This process's resident memory, or -1 without /proc. */
    static long vmmRssBytes() {
        try {
            return 1024 * Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("VmRSS:")).map(l -> l.replaceAll("[^0-9]", "")).mapToLong(Long::parseLong)
                    .findFirst().orElse(0);
        } catch (IOException e) {
            return -1;
        }
    }
}
