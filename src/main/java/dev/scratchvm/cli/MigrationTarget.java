package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Option;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.migration.Endpoint;
import dev.scratchvm.migration.MigrationClient.Result;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.migration.MigrationException;
import dev.scratchvm.migration.MigrationKey;
import dev.scratchvm.migration.Timeouts;
import dev.scratchvm.migration.TlsSettings;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Snapshots;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Sends the VM to a {@code scratchvm serve} when the guest asks for SAVE (VMM_CLIENT). If the
 * server does not take it, the guest continues here and its SAVE returns -errno. If the outcome
 * cannot be learned after COMMIT, the VM is written to the image file instead of running on.
 */
final class MigrationTarget implements SaveTarget {
    static final String PREFIX = "VMM_CLIENT: ", TRACE_PREFIX = PREFIX + "VM_APP - ";
    /** Exit status when the migration is in doubt (EX_TEMPFAIL): see docs/migration-protocol.md. */
    static final int IN_DOUBT = 75;
    static final String KEY_FILE_HELP = "Shared migration key (default: ~/.config/scratchvm/migration.key, created on first use).";
    static final String TLS_DIR_HELP = "Encrypt the migration with mutual TLS 1.3; DIR holds ca-cert.pem and this side's "
            + "certificate and PKCS#8 key (server-cert.pem/server-key.pem or client-cert.pem/client-key.pem). Both sides need it, or neither.";

    /** The options of {@code run} that turn SAVE into a migration. */
    static final class Options {
        static final List<Option<Options>> OPTIONS = List.of(
                Option.value("--migrate-to", "HOST:PORT",
                        "On SAVE, migrate the VM to 'scratchvm serve' at HOST:PORT instead of writing an image.", (o, v) -> o.migrateTo = v),
                Option.value("--key-file", "FILE", KEY_FILE_HELP, (o, v) -> o.keyFile = Values.path(v)),
                Option.value("--tls-dir", "DIR", TLS_DIR_HELP, (o, v) -> o.tlsDir = Values.path(v)),
                Option.flag("Also send the guest's open files if the server lacks them.", o -> o.withFiles = true, "--with-files"),
                Option.value("--migrate-timeout", "SECONDS", "Give up on a server silent this long (default: 30).",
                        (o, v) -> o.timeout = Values.integer(v)));

        String migrateTo;
        Path keyFile;
        Path tlsDir;
        boolean withFiles;
        int timeout = 30;

        private TlsSettings tls;

        boolean enabled() {
            return migrateTo != null;
        }

        /** The client's TLS settings from --tls-dir, read and checked once (null without it); for SAVE and for ctl migrate. */
        TlsSettings tls() {
            if (tls == null && tlsDir != null) tls = loadTls(tlsDir, TlsSettings.Side.CLIENT);
            return tls;
        }

        String tracePrefix() {
            return enabled() ? TRACE_PREFIX : "";
        }
    }

    private final MigrationClient client;
    private final TlsSettings tls;
    private final Endpoint to;
    private final Trace trace;
    private final Path root;
    private final Path fallback;
    private final boolean verbose;
    private final Metrics metrics;
    private final Duration timeout;
    private boolean inDoubt;

    private MigrationTarget(MigrationClient client, TlsSettings tls, Endpoint to, Trace trace, Path root, Path fallback,
                            boolean verbose, Metrics metrics, Duration timeout) {
        this.metrics = metrics;
        this.timeout = timeout;
        this.client = client;
        this.tls = tls;
        this.to = to;
        this.trace = trace;
        this.root = root;
        this.fallback = fallback;
        this.verbose = verbose;
    }

    /** Checks the options and loads the key before the guest starts, so mistakes show up at once. */
    static SaveTarget of(Options o, Trace trace, Path root, Path fallbackImage, boolean verbose, Metrics metrics) {
        if (!o.enabled()) {
            // --key-file and --tls-dir alone are for live migrations asked for through the control socket (ctl migrate).
            if (o.withFiles) throw new IllegalArgumentException("--with-files needs --migrate-to");
            o.tls();   // checked now, before the guest runs
            return new ImageTarget(fallbackImage, trace, verbose);
        }
        Endpoint to = Endpoint.parse(o.migrateTo, "--migrate-to", false);
        if (o.timeout < 1) throw new IllegalArgumentException("--migrate-timeout must be at least 1 second");
        MigrationKey key = loadKey(o.keyFile, PREFIX);
        TlsSettings tls = o.tls();
        MigrationClient client = new MigrationClient(to, key, tls, Timeouts.ofIdle(Duration.ofSeconds(o.timeout)), MigrationTarget::line);
        return new MigrationTarget(client, tls, to, trace, o.withFiles ? root : null, fallbackImage, verbose, metrics,
                Duration.ofSeconds(o.timeout));
    }

    static MigrationKey loadKey(Path keyFile, String prefix) {
        try {
            MigrationKey key = MigrationKey.load(keyFile);
            if (key.created()) {
                System.err.println(prefix + "created migration key " + key.path() + " (copy it to the other host to migrate between hosts)");
            }
            return key;
        } catch (MigrationException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    /** The TLS settings of {@code dir} for {@code side}, checked now; null (plaintext) without a directory. */
    static TlsSettings loadTls(Path dir, TlsSettings.Side side) {
        if (dir == null) return null;
        try {
            return side == TlsSettings.Side.SERVER ? TlsSettings.server(dir) : TlsSettings.client(dir);
        } catch (MigrationException e) {
            throw new IllegalArgumentException("--tls-dir: " + e.getMessage());
        }
    }

    /**
     * Before the guest starts: waits (2 s at most in all) for the warm-ups of the capture path
     * and of the handshake, so their one-time costs land in start-up rather than in the
     * downtime of a guest that asks for SAVE right away.
     */
    void prepare(Thread vmWarmUp) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        Thread tlsWarmUp = tls != null ? tls.warmUp() : null;
        vmWarmUp.join(left(until));
        client.awaitWarmUp(left(until));
        if (tlsWarmUp != null) tlsWarmUp.join(left(until));
    }

    private static Duration left(long until) {
        return Duration.ofNanos(Math.max(1, until - System.nanoTime()));
    }

    /** The migration opened while the guest runs (protocol 2's PREPARE), so that SAVE finds it ready. */
    private java.util.concurrent.CompletableFuture<MigrationClient.Link> early;
    private long earlyAt;

    /**
     * Connects, authenticates and has the server check the CPU and set memory aside now,
     * while the guest runs: SAVE's downtime is then memory, state and the commit. A server
     * gives up on a connection that stays silent for its idle timeout, so SAVE uses this one
     * only while it is younger than our own idle timeout, and otherwise connects again.
     */
    void connectEarly(Machine machine) {
        long memory = machine.memory().size();
        var cpuid = machine.cpuid();
        var xcrs = machine.xcrs();
        early = new java.util.concurrent.CompletableFuture<>();
        earlyAt = System.nanoTime();
        Thread.ofVirtual().name("migration-connect").start(() -> {
            try {
                early.complete(client.prepare(memory, cpuid, xcrs));
            } catch (MigrationException | RuntimeException e) {
                early.completeExceptionally(e);
            }
        });
    }

    /** Sends the stopped VM over the early connection if there is a fresh one, else over a new one. */
    private Result send(MachineState state, Machine machine, PageFilter filter) {
        MigrationClient.Link link = null;
        if (early != null) {
            try {
                link = early.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (verbose) line("the early connection failed (" + e.getCause().getMessage() + "); connecting now");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (link != null && System.nanoTime() - earlyAt > timeout.toNanos()) {
                if (verbose) line("the early connection has been idle too long; connecting again");
                link.close();
                link = null;
            }
        }
        if (link != null) return link.cold(state, machine.memory().segment(), filter, root, id -> { });
        return client.migrate(state, machine.memory().segment(), filter, root);
    }

    @Override
    public boolean save(Machine machine) {
        long start = System.nanoTime(), pausedEpochNanos = Metrics.epochNanos();
        MachineState state;
        try {
            state = machine.capture();
        } catch (KernelRestoreException e) {
            line("cannot migrate the VM: " + e.getMessage() + "; the VM continues here (SAVE returns -" + Errno.EBADF + ")");
            machine.failSave(Errno.EBADF);
            return false;
        }
        System.err.println(trace.prefix() + "SAVE OPERATION");
        long captured = System.nanoTime();
        PageFilter filter = Snapshots.touchedPages(machine);
        long stopNanos = System.nanoTime() - start;   // capture and the pages in use: the downtime before the first byte
        Result r = send(state, machine, filter);
        long pausedNanos = System.nanoTime() - start;
        if (verbose) {
            // Printed after the send: formatting the clock the first time loads the time zone, milliseconds of downtime.
            line(String.format("guest paused for SAVE at %s; state captured in %.1f ms, pages in use found in %.1f ms",
                    ServeCommand.clock(pausedEpochNanos), (captured - start) / 1e6, (stopNanos - (captured - start)) / 1e6));
        }
        switch (r) {
            case Result.Committed c -> {
                System.err.println(trace.prefix() + "VM STATE SENT");
                var sent = c.stats();
                metrics.event("migration_sent", g -> {
                    g.writeNumberField("guest_paused_epoch_ns", pausedEpochNanos);
                    g.writeNumberField("pages", sent.memoryPages());
                    g.writeNumberField("bytes_on_wire", sent.bytesSent());
                    g.writeNumberField("elapsed_ns", sent.elapsedNanos());
                    Metrics.phases(g, sent);
                    g.writeNumberField("stop_ns", stopNanos);
                });
                if (verbose) {
                    var s = sent;
                    line(String.format("sent %d pages in %d runs%s, %d bytes on the wire, in %.1f ms (%s); guest paused %.1f ms from SAVE to commit",
                            s.memoryPages(), s.runs(), s.files() > 0 ? " and " + s.files() + " files" : "", s.bytesSent(),
                            s.elapsedNanos() / 1e6, s.phases(), pausedNanos / 1e6));
                }
                return true;
            }
            case Result.Failed f -> {
                line("migration to " + to + " failed: " + f.reason() + "; the VM continues here (SAVE returns -" + f.errno() + ")");
                machine.failSave(f.errno());
                return false;
            }
            case Result.InDoubt d -> {
                inDoubt = true;
                try {
                    ImageWriter.write(fallback, state, machine.memory().segment(), filter);
                    line("migration to " + to + " is in doubt: " + d.reason() + ". The VM was saved to " + fallback
                            + " and runs nowhere now: restore it only if the server did not run it");
                } catch (ImageException | RuntimeException e) {
                    line("migration to " + to + " is in doubt: " + d.reason() + ", and saving the VM to " + fallback
                            + " failed (" + e.getMessage() + "): the VM is stopped rather than risk running it twice");
                }
                return true;
            }
        }
    }

    /** Ends the client's output; the exit status is the guest's, or {@link #IN_DOUBT}. */
    int finish(int status) {
        line("EXITING");
        return inDoubt ? IN_DOUBT : status;
    }

    static void line(String text) {
        System.err.println(PREFIX + text);
        System.err.flush();
    }
}
