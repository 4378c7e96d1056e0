package dev.scratchvm.cli;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.migration.Endpoint;
import dev.scratchvm.migration.InFlight;
import dev.scratchvm.migration.MigrationClient.Result;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.migration.MigrationException;
import dev.scratchvm.migration.Timeouts;
import dev.scratchvm.migration.TlsSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;

/** {@code scratchvm migrate FILE --to HOST:PORT}: moves a saved VM to a server. */
final class MigrateCommand implements Command {
    static final Spec<MigrateCommand> SPEC = Spec.of("migrate",
                    "Send a VM saved in an image file to 'scratchvm serve'; the image is removed once the server has it.", MigrateCommand::new)
            .parameter("FILE", "Image file.", (c, v) -> c.image = Values.path(v))
            .required("--to", "HOST:PORT", "The server.", (c, v) -> c.to = v)
            .option("--key-file", "FILE", MigrationTarget.KEY_FILE_HELP, (c, v) -> c.keyFile = Values.path(v))
            .option("--tls-dir", "DIR", MigrationTarget.TLS_DIR_HELP, (c, v) -> c.tlsDir = Values.path(v))
            .flag("Also send the VM's open files (read below --root) if the server lacks them.", c -> c.withFiles = true, "--with-files")
            .option("--root", "DIR", "The guest root the image was saved from (default: current directory).", (c, v) -> c.root = Values.path(v))
            .flag("Keep the image after the server took the VM (then it exists twice: restore with care).", c -> c.keep = true, "--keep")
            .option("--timeout", "SECONDS", "Give up on a server silent this long (default: 30).", (c, v) -> c.timeout = Values.integer(v))
            .flag("Print what was sent, and timings.", c -> c.verbose = true, "-v", "--verbose");

    Path image;
    String to;
    Path keyFile;
    Path tlsDir;
    boolean withFiles;
    Path root = Path.of(".");
    boolean keep;
    int timeout = 30;
    boolean verbose;

    @Override
    public int call() throws Exception {
        Endpoint at = Endpoint.parse(to, "--to", false);
        if (timeout < 1) throw new IllegalArgumentException("--timeout must be at least 1 second");
        var key = MigrationTarget.loadKey(keyFile, MigrationTarget.PREFIX);
        TlsSettings tls = MigrationTarget.loadTls(tlsDir, TlsSettings.Side.CLIENT);   // before the image is read
        Timeouts timeouts = Timeouts.ofIdle(Duration.ofSeconds(timeout));
        // An earlier sender of this image stopped after COMMIT: its server decides first.
        InFlight earlier = InFlight.read(image);
        if (earlier != null) {
            Integer settled = settle(earlier, new MigrationClient(earlier.to(), key, tls, timeouts, MigrationTarget::line));
            if (settled != null) return settled;
        }
        MigrationClient client = new MigrationClient(at, key, tls, timeouts, MigrationTarget::line);
        Result result;
        try (ImageReader reader = ImageReader.open(image);
             GuestMemory memory = GuestMemory.allocate(reader.state().memory().size(), BootLayout.GUEST_BASE)) {
            reader.restoreMemory(memory.segment(), ImageReader.Mode.MAP);   // lazy: pages are read as they are sent
            BitSet stored = new BitSet();
            for (PageMap.Run r : reader.pageMap().runs()) stored.set((int) r.firstPage(), (int) r.firstPage() + r.pageCount());
            result = client.migrate(reader.state(), memory.segment(), page -> stored.get((int) page), withFiles ? root : null,
                    new MigrationClient.BeforeCommit() {
                        @Override
                        public void committing(byte[] id) throws IOException {
                            InFlight.mark(image, at, id);
                        }

                        @Override
                        public void committed() throws IOException {
                            // Before BYE, which lets a --once server go: a marked image would need its answer.
                            if (!keep) Files.deleteIfExists(image);
                            InFlight.clear(image);
                        }
                    });
        }
        return switch (result) {
            case Result.Committed c -> {
                MigrationTarget.line("VM STATE SENT: the VM from " + image + " now runs on " + at);
                if (verbose) {
                    MigrationTarget.line(String.format("sent %d pages, %d bytes on the wire, in %.1f ms",
                            c.stats().memoryPages(), c.stats().bytesSent(), c.stats().elapsedNanos() / 1e6));
                }
                if (!keep) {
                    Files.deleteIfExists(image); // done already unless the outcome came from a QUERY
                    MigrationTarget.line("removed " + image + ": the VM exists only on the server now");
                }
                InFlight.clear(image);
                yield 0;
            }
            case Result.Failed f -> {
                InFlight.clear(image);
                MigrationTarget.line("migration to " + at + " failed: " + f.reason() + "; " + image + " is unchanged");
                yield 1;
            }
            case Result.InDoubt d -> {
                MigrationTarget.line("migration to " + at + " is in doubt: " + d.reason() + "; " + image
                        + " is kept: restore it only if the server did not run the VM");
                yield MigrationTarget.IN_DOUBT;
            }
        };
    }

    /**
     * Asks the server an interrupted migration of this image went to how it ended. Returns the
     * exit status when that settles the matter (the VM is there, or nobody can say), or null
     * when the server discarded it and this image is the VM again.
     */
    private Integer settle(InFlight earlier, MigrationClient client) throws java.io.IOException {
        MigrationTarget.line(earlier.describe(image) + "; asking that server how it ended");
        MigrationClient.Record v;
        try {
            v = client.query(earlier.id());
        } catch (MigrationException e) {
            MigrationTarget.line("cannot ask " + earlier.to() + ": " + e.getMessage() + "; " + image
                    + " stays marked (in doubt): try again when the server is reachable");
            return MigrationTarget.IN_DOUBT;
        }
        switch (v) {
            case COMMITTED -> {
                if (!keep) Files.deleteIfExists(image);
                InFlight.clear(image);
                MigrationTarget.line("the VM from " + image + " is on " + earlier.to() + " already"
                        + (keep ? "" : "; removed " + image));
                return 0;
            }
            case ABORTED -> {
                InFlight.clear(image);
                MigrationTarget.line(earlier.to() + " discarded it; " + image + " is the VM again");
                return null;
            }
            default -> {
                MigrationTarget.line(earlier.to() + " has no record of that migration; " + image
                        + " stays marked (in doubt): restore it only if you know the server did not run the VM, after removing "
                        + InFlight.markOf(image));
                return MigrationTarget.IN_DOUBT;
            }
        }
    }
}
