package dev.scratchvm.cli;

import dev.scratchvm.migration.Endpoint;
import dev.scratchvm.migration.MigrationKey;
import dev.scratchvm.migration.MigrationServer;
import dev.scratchvm.migration.Timeouts;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.WarmUp;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code scratchvm serve}: the VMM_SERVER, which receives migrated VMs and runs them. */
@Command(name = "serve", mixinStandardHelpOptions = true, version = Main.VERSION, description = "Wait for VMs migrated over TCP ('run --migrate-to', 'migrate'); restore and run them.")
final class ServeCommand implements Callable<Integer> {
    static final String PREFIX = "VMM_SERVER: ";

    @Mixin
    VmOptions vm;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Address to listen on; port 0 picks one (default: ${DEFAULT-VALUE}).")
    String listen = "127.0.0.1:" + Endpoint.DEFAULT_PORT;

    @Option(names = "--once", description = "Exit when the first migrated VM exits, with its exit status.")
    boolean once;

    @Option(names = "--key-file", paramLabel = "FILE",
            description = "Shared migration key (default: ~/.config/scratchvm/migration.key, created on first use).")
    Path keyFile;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Drop a peer silent this long (default: ${DEFAULT-VALUE}).")
    int timeout = 30;

    @Option(names = "--image", paramLabel = "FILE", description = "Where a SAVE by a migrated VM writes it (default: ${DEFAULT-VALUE}).")
    Path image = Path.of("vm.img");

    @Override
    public Integer call() throws Exception {
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
        MachineConfig config = vm.config(0, PREFIX + "VM_APP - ");
        try (MigrationServer server = MigrationServer.listen(at, new MigrationServer.Config(key, timeouts, config, ServeCommand::line))) {
            WarmUp.inBackground(); // so the first VM's restore, part of its downtime, runs warm code
            line("listening on " + Endpoint.format(server.address()));
            while (true) {
                MigrationServer.Arrival a = server.next();
                int status;
                try (Machine machine = a.machine()) {
                    if (vm.verbose) {
                        line(String.format("received %.1f MiB, %d bytes on the wire, in %.1f ms; guest resumes at %s",
                                a.memoryBytes() / 1048576.0, a.bytesReceived(), a.elapsedNanos() / 1e6, clock()));
                    }
                    System.err.println(config.trace().prefix() + "RESTORE OPERATION");
                    status = Session.run(machine, new ImageTarget(image, config.trace(), vm.verbose), config.trace().prefix(), vm.verbose);
                }
                line("VM exited with status " + status);
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

    /** Wall-clock time with microseconds: compares pause and resume across processes (and NTP-synced hosts). */
    static String clock() {
        return java.time.LocalTime.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS).toString();
    }

    static void line(String text) {
        System.err.println(PREFIX + text);
        System.err.flush();
    }
}
