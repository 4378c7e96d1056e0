package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.util.GuestCompiler;
import dev.scratchvm.util.Home;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * {@code scratchvm train}: the training run for the JVM's ahead-of-time cache. The launcher
 * runs it once after each build with -XX:AOTCacheOutput, so the classes, linked call sites
 * and FFM downcall stubs that run, save, restore and inspect need are ready at the next start.
 */
final class TrainCommand implements Command {
    static final Spec<TrainCommand> SPEC = Spec.of("train", "Exercise run, save, restore and inspect for the JVM's AOT cache.", TrainCommand::new)
            .hidden();

    /** Both ends of a migration in this one process: serve in a thread, run --migrate-to here. */
    private static int migrate(Path dir, Path app) throws Exception {
        Path key = dir.resolve("train.key");
        Files.writeString(key, "0123456789abcdef0123456789abcdef\n");
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        String root = dir.toString(), to = "127.0.0.1:" + port;
        java.util.concurrent.CompletableFuture<Integer> server = java.util.concurrent.CompletableFuture.supplyAsync(() ->
                Main.execute("serve", "--once", "--timeout", "10", "--listen", to, "--root", root, "--key-file", key.toString()));
        Thread.sleep(300); // let it bind
        Files.deleteIfExists(dir.resolve("ay_caramba"));
        int rc = Main.execute("run", "--root", root, "--key-file", key.toString(), "--migrate-to", to, app.toString());
        return rc | server.get(30, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Override
    public int call() throws Exception {
        Path dir = Files.createTempDirectory("scratchvm-train-");
        try {
            Path app = dir.resolve("app"), image = dir.resolve("train.img");
            GuestCompiler.compile(Home.directory().resolve("examples/lab3/app.c"), Home.directory().resolve("guest/include"), app);
            String root = dir.toString();
            int rc = Main.execute("run", "--root", root, "--image", image.toString(), app.toString());
            rc |= Main.execute("inspect", image.toString());
            rc |= Main.execute("restore", "--root", root, image.toString());
            rc |= migrate(dir, app);
            return rc == 0 ? 0 : 1;
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
