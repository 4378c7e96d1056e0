package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.migration.Endpoint;
import dev.scratchvm.migration.Handoffs;
import dev.scratchvm.migration.MigrationKey;
import dev.scratchvm.migration.MigrationServer;
import dev.scratchvm.migration.Timeouts;
import dev.scratchvm.migration.TlsSettings;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Snapshots;
import dev.scratchvm.vmm.WarmUp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** {@code scratchvm serve}: the VMM_SERVER, which receives migrated VMs and runs them. */
final class ServeCommand implements Command {
    static final String PREFIX = "VMM_SERVER: ";
    private static final String DEFAULT_LISTEN = "127.0.0.1:" + Endpoint.DEFAULT_PORT;

    static final Spec<ServeCommand> SPEC = Spec.of("serve", "Wait for VMs migrated over TCP ('run --migrate-to', 'migrate'); restore and run them.", ServeCommand::new)
            .include(VmOptions.OPTIONS, c -> c.vm)
            .option("--listen", "HOST:PORT", "Address to listen on; port 0 picks one (default: " + DEFAULT_LISTEN + ").", (c, v) -> c.listen = v)
            .flag("Exit when the first migrated VM exits, with its exit status.", c -> c.once = true, "--once")
            .option("--key-file", "FILE", MigrationTarget.KEY_FILE_HELP, (c, v) -> c.keyFile = Values.path(v))
            .option("--tls-dir", "DIR", MigrationTarget.TLS_DIR_HELP, (c, v) -> c.tlsDir = Values.path(v))
            .option("--timeout", "SECONDS", "Drop a peer silent this long (default: 30).", (c, v) -> c.timeout = Values.integer(v))
            .option("--image", "FILE", "Where a SAVE by a migrated VM writes it (default: vm.img).", (c, v) -> c.image = Values.path(v))
            .option("--state-dir", "DIR", "Where arriving VMs are kept until they run, and a restarted server finds them "
                    + "(default: $XDG_STATE_HOME/scratchvm/serve/PORT, else ~/.local/state/...).", (c, v) -> c.stateDir = Values.path(v))
            .flag("Write an arriving VM's memory to disk before taking it (it then survives a crash of this host, not only of "
                    + "this server, in the moment before it runs), at the disk's speed.", c -> c.syncSpool = true, "--sync-spool");

    final VmOptions vm = new VmOptions();
    String listen = DEFAULT_LISTEN;
    boolean once;
    Path keyFile;
    Path tlsDir;
    int timeout = 30;
    Path image = Path.of("vm.img");
    Path stateDir;
    boolean syncSpool;

    @Override
    public int call() throws Exception {
        try {
            return serve();
        } catch (IOException | IllegalArgumentException e) {
            // Every line the server prints carries its prefix, errors included.
            line("error: " + Errors.oneLine(e));
            return 1;
        }
    }

    private int serve() throws IOException, InterruptedException {
        Endpoint at = Endpoint.parse(listen, "--listen", true);
        if (timeout < 1) throw new IllegalArgumentException("--timeout must be at least 1 second");
        Timeouts timeouts = Timeouts.ofIdle(Duration.ofSeconds(timeout));
        MigrationKey key = MigrationTarget.loadKey(keyFile, PREFIX);
        TlsSettings tls = MigrationTarget.loadTls(tlsDir, TlsSettings.Side.SERVER);
        MachineConfig config = vm.config(0, PREFIX + "VM_APP - ");
        Path dir = stateDir != null ? stateDir : defaultStateDir(at);
        if (stateDir == null && at.port() == 0) {
            // Ctrl-C is how a server usually ends; its throw-away directory goes with it unless it holds a VM.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteIfEmptied(dir)));
        }
        try (Handoffs handoffs = Handoffs.open(dir, syncSpool ? Handoffs.Durability.DISK : Handoffs.Durability.PAGE_CACHE); Metrics metrics = vm.metrics()) {
            handoffs.recovered().forEach(ServeCommand::line);
            Integer status = null;
            try (MigrationServer server = MigrationServer.listen(at, new MigrationServer.Config(key, timeouts, config, handoffs, ServeCommand::line, tls))) {
                // VMs this server acknowledged before it was stopped run first: they are its own. It
                // listens meanwhile, so that a client in doubt about one of them can ask how it ended.
                for (Path resumable : handoffs.resumable()) {
                    line("resuming a VM committed here before the server stopped (" + resumable + ")");
                    status = runResumed(handoffs, resumable, config, metrics);
                    if (once) {
                        // Its client may not know that it committed (it was killed around then): stay to answer.
                        String id = Handoffs.idOf(resumable);
                        line("waiting up to " + timeouts.resolve().toSeconds() + " s for the client to ask how migration "
                                + id.substring(0, 8) + " ended");
                        server.awaitQueried(id, timeouts.resolve());
                        return status;
                    }
                }
                // So that the first VM's restore and durable copy, part of its downtime, run warm code;
                // announced once done (at most 2 s), so that a first VM does not share the CPUs with it.
                Thread warmUp = WarmUp.inBackground(config, (state, own, until) -> {
                    MigrationServer.rehearseDurableCopy(state);
                    Session.MIGRATIONS.run(state, own, until);
                }, WarmUp.Budget.BEFORE_START);
                if (tls != null) tls.warmUp();
                warmUp.join(Duration.ofSeconds(2));
                if (vm.verbose) clock();   // loads the time zone now: -v prints the clock as a guest resumes
                if (tls != null) line("TLS 1.3 required: clients need a certificate that chains to " + tls.dir().resolve(TlsSettings.CA));
                line("listening on " + Endpoint.format(server.address()));
                metrics.event("listening", g -> g.writeStringField("address", Endpoint.format(server.address())));
                while (true) {
                    MigrationServer.Arrival a = server.next();
                    try (Machine machine = a.machine()) {
                        metrics.event("migration_received", g -> {
                            g.writeNumberField("memory_bytes", a.memoryBytes());
                            g.writeNumberField("bytes_on_wire", a.bytesReceived());
                            g.writeNumberField("elapsed_ns", a.elapsedNanos());
                            long[] phases = a.phaseNanos();
                            for (int i = 0; i < phases.length; i++) {
                                g.writeNumberField("phase_" + MigrationServer.PHASES[i] + "_ns", phases[i]);
                            }
                        });
                        if (vm.verbose) {
                            line(String.format("received %.1f MiB, %d bytes on the wire, in %.1f ms (%s); guest resumes at %s",
                                    a.memoryBytes() / 1048576.0, a.bytesReceived(), a.elapsedNanos() / 1e6, a.phases(), clock()));
                        }
                        status = run(handoffs, a.id(), machine, config, metrics);
                    }
                    server.done();
                    if (once) {
                        if (!a.awaitClientConfirmed(Duration.ZERO)) {
                            // The client may not know the VM arrived; stay to answer its QUERY.
                            line("waiting up to " + timeouts.resolve().toSeconds() + " s for the client to learn that the migration committed");
                            a.awaitClientConfirmed(timeouts.resolve());
                        }
                        return status;
                    }
                }
            }
        }
    }

    private int runResumed(Handoffs handoffs, Path image, MachineConfig config, Metrics metrics) throws IOException {
        try (Machine machine = Snapshots.restore(image, config, null)) {
            return run(handoffs, Handoffs.idOf(image), machine, config, metrics);
        } catch (ImageException | Machine.RestoreException e) {
            // Left in place for the user: it is the only copy of that VM.
            line("error: cannot resume " + image + ": " + Errors.oneLine(e) + " (left in place)");
            return 1;
        }
    }

    /** Runs a VM that is this server's, once: the journal says it started before its first instruction. */
    private int run(Handoffs handoffs, String id, Machine machine, MachineConfig config, Metrics metrics) throws IOException {
        handoffs.started(id);
        System.err.println(config.trace().prefix() + "RESTORE OPERATION");
        int status = Session.run(machine, new ImageTarget(image, config.trace(), vm.verbose), config.trace().prefix(), vm.verbose, vm.apiSock,
                metrics, keyFile, vm.root);
        line("VM exited with status " + status);
        return status;
    }

    /**
     * One directory per listening port, so servers on different ports never share one, and a
     * server restarted on its port finds what it had. With port 0 (a new port each time) there
     * is nothing to find later: that directory goes away when the server ends cleanly.
     */
    private static Path defaultStateDir(Endpoint at) {
        String xdg = System.getenv("XDG_STATE_HOME");
        Path base = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "state"))
                .resolve("scratchvm").resolve("serve");
        // Port 0: a name no later server takes, not even one that reuses this process's id (a
        // server killed before its VM ran leaves its directory behind).
        return base.resolve(at.port() != 0 ? String.valueOf(at.port())
                : "any-" + ProcessHandle.current().pid() + "-" + Long.toHexString(new java.security.SecureRandom().nextLong()));
    }

    private static void deleteIfEmptied(Path dir) {
        try {
            List<String> left;
            try (var files = Files.list(dir)) {
                left = files.map(f -> f.getFileName().toString()).filter(n -> !n.equals("lock") && !n.equals("journal")).toList();
            }
            if (!left.isEmpty()) return;
            Files.deleteIfExists(dir.resolve("journal"));
            Files.deleteIfExists(dir.resolve("lock"));
            Files.delete(dir);
        } catch (IOException e) {
            line("could not remove " + dir + ": " + Errors.oneLine(e));
        }
    }

    /** Wall-clock time with microseconds: compares pause and resume across processes (and NTP-synced hosts). */
    static String clock() {
        return java.time.LocalTime.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS).toString();
    }

    /** As {@link #clock()}, of a moment taken earlier (ns since the epoch). */
    static String clock(long epochNanos) {
        return java.time.LocalTime.ofInstant(java.time.Instant.ofEpochSecond(0, epochNanos), java.time.ZoneId.systemDefault())
                .truncatedTo(java.time.temporal.ChronoUnit.MICROS).toString();
    }

    static void line(String text) {
        System.err.println(PREFIX + text);
        System.err.flush();
    }
}
