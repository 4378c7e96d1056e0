package dev.scratchvm.cli;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.migration.Endpoint;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.migration.MigrationClient.Result;
import dev.scratchvm.migration.Timeouts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.concurrent.Callable;

/** {@code scratchvm migrate FILE --to HOST:PORT}: moves a saved VM to a server. */
@Command(name = "migrate", mixinStandardHelpOptions = true, version = Main.VERSION, description = "Send a VM saved in an image file to 'scratchvm serve'; the image is removed once the server has it.")
final class MigrateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "Image file.")
    Path image;

    @Option(names = "--to", required = true, paramLabel = "HOST:PORT", description = "The server.")
    String to;

    @Option(names = "--key-file", paramLabel = "FILE",
            description = "Shared migration key (default: ~/.config/scratchvm/migration.key, created on first use).")
    Path keyFile;

    @Option(names = "--with-files", description = "Also send the VM's open files (read below --root) if the server lacks them.")
    boolean withFiles;

    @Option(names = "--root", paramLabel = "DIR", description = "The guest root the image was saved from (default: current directory).")
    Path root = Path.of(".");

    @Option(names = "--keep", description = "Keep the image after the server took the VM (then it exists twice: restore with care).")
    boolean keep;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Give up on a server silent this long (default: ${DEFAULT-VALUE}).")
    int timeout = 30;

    @Option(names = {"-v", "--verbose"}, description = "Print what was sent, and timings.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        Endpoint at = Endpoint.parse(to, "--to", false);
        if (timeout < 1) throw new IllegalArgumentException("--timeout must be at least 1 second");
        var key = MigrationTarget.loadKey(keyFile, MigrationTarget.PREFIX);
        MigrationClient client = new MigrationClient(at, key, Timeouts.ofIdle(Duration.ofSeconds(timeout)), MigrationTarget::line);
        Result result;
        try (ImageReader reader = ImageReader.open(image);
             GuestMemory memory = GuestMemory.allocate(reader.state().memory().size(), BootLayout.GUEST_BASE)) {
            reader.restoreMemory(memory.segment(), ImageReader.Mode.MAP);   // lazy: pages are read as they are sent
            BitSet stored = new BitSet();
            for (PageMap.Run r : reader.pageMap().runs()) stored.set((int) r.firstPage(), (int) r.firstPage() + r.pageCount());
            result = client.migrate(reader.state(), memory.segment(), page -> stored.get((int) page), withFiles ? root : null);
        }
        return switch (result) {
            case Result.Committed c -> {
                MigrationTarget.line("VM STATE SENT: the VM from " + image + " now runs on " + at);
                if (verbose) {
                    MigrationTarget.line(String.format("sent %d pages, %d bytes on the wire, in %.1f ms",
                            c.stats().memoryPages(), c.stats().bytesSent(), c.stats().elapsedNanos() / 1e6));
                }
                if (!keep) {
                    Files.delete(image);
                    MigrationTarget.line("removed " + image + ": the VM exists only on the server now");
                }
                yield 0;
            }
            case Result.Failed f -> {
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
}
