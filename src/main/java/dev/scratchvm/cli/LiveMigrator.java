package dev.scratchvm.cli;

import dev.scratchvm.control.ControlException;
import dev.scratchvm.control.Controller;
import dev.scratchvm.control.Migrator;
import dev.scratchvm.migration.Endpoint;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.migration.MigrationException;
import dev.scratchvm.migration.MigrationKey;
import dev.scratchvm.migration.Timeouts;
import dev.scratchvm.migration.TlsSettings;

import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code ctl SOCK migrate}: a live migration of this VMM's VM, with the VMM's own key (its
 * {@code --key-file}, else the default one) and its guest root for {@code --with-files}.
 * Lines go to this VMM's stderr.
 */
final class LiveMigrator implements Migrator {
    private final Path keyFile;
    private final TlsSettings tls;
    private final Path root;
    private final String prefix;

    /** {@code tls}: the VMM's {@code --tls-dir}, checked at start-up; null for plaintext. */
    LiveMigrator(Path keyFile, TlsSettings tls, Path root, String prefix) {
        this.keyFile = keyFile;
        this.tls = tls;
        this.root = root;
        this.prefix = prefix;
    }

    @Override
    public MigrationClient.Result migrate(Controller controller, Request request) throws ControlException {
        Endpoint to;
        MigrationKey key;
        try {
            to = Endpoint.parse(request.to(), "to", false);
            key = MigrationKey.load(keyFile);
        } catch (IllegalArgumentException | MigrationException e) {
            throw new ControlException(e.getMessage());
        }
        MigrationClient client = new MigrationClient(to, key, tls, Timeouts.ofIdle(Duration.ofSeconds(30)), this::line);
        line("migrating the VM live to " + to + " (downtime budget " + request.options().downtime().toMillis() + " ms, timeout "
                + request.options().timeout().toSeconds() + " s, then " + (request.options().onTimeout()
                == dev.scratchvm.migration.LiveOptions.OnTimeout.ABORT ? "abort" : "stop and copy")
                + (request.options().autoConverge() ? ", auto-converge" : "") + ")");
        MigrationClient.Result r = controller.migrate(client, request.options(), request.withFiles() ? root : null);
        switch (r) {
            case MigrationClient.Result.Committed c -> {
                var s = c.stats();
                var l = s.live();
                line(String.format("migrated to %s: downtime %.2f ms, %d rounds, %.1f MiB sent (%.1f MiB in use, what a cold migration sends)%s",
                        to, l.downtimeNanos() / 1e6, l.rounds(), s.bytesSent() / 1048576.0, l.coldBytes() / 1048576.0,
                        (l.throttlePercent() > 0 ? ", guest throttled up to " + l.throttlePercent() + " %" : "")
                                + (l.stoppedByTimeout() ? ", stopped by the timeout" : "")));
                line("after the stop: " + s.phases().replaceFirst("^handshake [0-9.]+ ms, ", "").replaceFirst("memory [0-9.]+ ms, ", ""));
            }
            case MigrationClient.Result.Failed f -> line("migration to " + to + " failed: " + f.reason() + "; the VM goes on here");
            case MigrationClient.Result.InDoubt d -> line("migration to " + to + " is in doubt: " + d.reason()
                    + "; the VM stays paused here: resume it only if the server did not run it");
        }
        return r;
    }

    private void line(String text) {
        System.err.println(prefix + text);
        System.err.flush();
    }
}
