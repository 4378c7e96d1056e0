package dev.scratchvm.migration;

/**
 * One round of a live migration, as it is reported while the migration runs.
 *
 * @param round              0 for the first (all memory in use), then 1, 2, ...
 * @param pages              pages the round sent
 * @param bytes              bytes the round put on the wire
 * @param dirtyPages         pages the guest wrote while the round was sent (the next round's)
 * @param dirtyBytesPerSecond how fast the guest wrote them
 * @param bytesPerSecond     how fast the link carried this round
 * @param estimatedDowntimeNanos what stopping the guest now would cost
 * @param throttlePercent    how much auto-converge slows the guest (0: not at all)
 */
public record RoundReport(int round, long pages, long bytes, long dirtyPages, double dirtyBytesPerSecond,
                          double bytesPerSecond, long estimatedDowntimeNanos, int throttlePercent) {
    /** One line for a log: "round 3: 1204 pages (4.7 MiB) at 890 MiB/s, 310 pages dirtied at 12.0 MiB/s, downtime ~2.1 ms". */
    public String line() {
        return String.format("round %d: %d pages (%.1f MiB) at %.0f MiB/s, %d pages dirtied at %.1f MiB/s, downtime ~%.1f ms%s",
                round, pages, bytes / 1048576.0, bytesPerSecond / 1048576.0, dirtyPages, dirtyBytesPerSecond / 1048576.0,
                estimatedDowntimeNanos / 1e6, throttlePercent > 0 ? ", guest throttled " + throttlePercent + " %" : "");
    }
}
