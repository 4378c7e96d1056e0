package dev.scratchvm.cli;

import dev.scratchvm.control.Controller;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.util.FlatJson;
import dev.scratchvm.vmm.Machine;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * {@code --metrics FILE}: what the VMM measured, as it happens, one JSON object per line
 * (in the spirit of Firecracker's metrics file). Programs read this, not the human-readable
 * lines of {@code -v}: the benchmark does.
 */
final class Metrics implements Controller.Listener, AutoCloseable {
    /** Discards everything: no --metrics. */
    static final Metrics NONE = new Metrics(null, null);

    private final OutputStream out;
    private final Machine machine;

    private Metrics(OutputStream out, Machine machine) {
        this.out = out;
        this.machine = machine;
    }

    static Metrics open(Path file) throws IOException {
        return new Metrics(Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE), null);
    }

    /** The same file, reporting on {@code machine} too (its memory, at start). */
    Metrics of(Machine machine) {
        return new Metrics(out, machine);
    }

    /** One line: {@code {"event": EVENT, "epoch_ns": now, ...fields}}. */
    void event(String event, FlatJson.Fields fields) {
        if (out == null) return;
        byte[] line = FlatJson.write(g -> {
            g.writeStringField("event", event);
            g.writeNumberField("epoch_ns", epochNanos());
            fields.write(g);
        });
        // The views of(machine) makes share the stream: lines are kept whole across them.
        synchronized (out) {
            try {
                out.write(line);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the metrics file: " + e.getMessage(), e);
            }
        }
    }

    static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    @Override
    public void on(Controller.Event event) {
        switch (event) {
            case Controller.Event.Started s -> event("started", g -> {
                g.writeNumberField("first_instruction_epoch_ns", s.epochNanos());
                Double launch = Report.launchToFirstInstructionMs(s.epochNanos());
                if (launch != null) g.writeNumberField("launch_to_first_instruction_ms", launch);
                g.writeNumberField("vmm_rss_bytes", Report.vmmRssBytes());
                if (machine != null) g.writeNumberField("guest_resident_bytes", machine.memory().residentBytes());
            });
            case Controller.Event.Paused p -> event("paused", g -> g.writeNumberField("latency_ns", p.latencyNanos()));
            case Controller.Event.Resumed r -> event("resumed", g -> { });
            case Controller.Event.SnapshotTaken t -> event("snapshot", g -> {
                g.writeStringField("path", t.snapshot().image().toString());
                g.writeStringField("kind", t.snapshot().kind().name().toLowerCase());
                g.writeNumberField("pages", t.snapshot().pagesStored());
                g.writeNumberField("bytes", t.snapshot().bytesWritten());
                g.writeNumberField("total_ns", t.snapshot().totalNanos());
                g.writeNumberField("paused_ns", t.pausedNanos());
            });
            case Controller.Event.Ended e -> event("ended", g -> g.writeNumberField("exit_status", e.ending().exitStatus()));
            case Controller.Event.MigrationRound m -> event("migration_round", g -> {
                var r = m.report();
                g.writeNumberField("round", r.round());
                g.writeNumberField("pages", r.pages());
                g.writeNumberField("bytes", r.bytes());
                g.writeNumberField("dirty_pages", r.dirtyPages());
                g.writeNumberField("dirty_bytes_per_s", (long) r.dirtyBytesPerSecond());
                g.writeNumberField("bytes_per_s", (long) r.bytesPerSecond());
                g.writeNumberField("estimated_downtime_ns", r.estimatedDowntimeNanos());
                g.writeNumberField("throttle_percent", r.throttlePercent());
            });
            case Controller.Event.MigrationEnded m -> event("migration_live", g -> {
                switch (m.result()) {
                    case MigrationClient.Result.Committed c -> {
                        g.writeStringField("result", "committed");
                        g.writeNumberField("bytes_on_wire", c.stats().bytesSent());
                        g.writeNumberField("pages", c.stats().memoryPages());
                        g.writeNumberField("elapsed_ns", c.stats().elapsedNanos());
                        phases(g, c.stats());
                        if (c.stats().live() != null) {
                            g.writeNumberField("rounds", c.stats().live().rounds());
                            g.writeNumberField("downtime_ns", c.stats().live().downtimeNanos());
                            g.writeNumberField("guest_stopped_epoch_ns", c.stats().live().stoppedEpochNanos());
                            g.writeNumberField("cold_bytes", c.stats().live().coldBytes());
                            g.writeNumberField("throttle_percent", c.stats().live().throttlePercent());
                            g.writeNumberField("stop_ns", c.stats().live().stopNanos());
                            g.writeNumberField("last_round_ns", c.stats().live().lastRoundNanos());
                        }
                    }
                    case MigrationClient.Result.Failed f -> {
                        g.writeStringField("result", "failed");
                        g.writeStringField("reason", f.reason());
                    }
                    case MigrationClient.Result.InDoubt d -> {
                        g.writeStringField("result", "in_doubt");
                        g.writeStringField("reason", d.reason());
                    }
                }
            });
        }
    }

    /** The client's phases ({@link MigrationClient.Stats#PHASES}) as {@code phase_NAME_ns} fields. */
    static void phases(com.fasterxml.jackson.core.JsonGenerator g, MigrationClient.Stats s) throws IOException {
        for (int i = 0; i < MigrationClient.Stats.PHASES.length; i++) {
            g.writeNumberField("phase_" + MigrationClient.Stats.PHASES[i] + "_ns", s.phaseNanos()[i]);
        }
    }

    @Override
    public void close() throws IOException {
        if (out != null) out.close();
    }
}
