package dev.scratchvm.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The migration part of the demo: a {@code serve --once} on a free loopback port, and a
 * {@code run --migrate-to} of the lab program that hands its VM over at SAVE. Both are
 * new VMM processes; their output is shown as it comes.
 */
final class MigrationDemo {
    private static final Pattern LISTENING = Pattern.compile("VMM_SERVER: listening on (\\S+)");

    private MigrationDemo() {
    }

    /** What the demo does with the server once it listens at {@code address}; returns the client's status. */
    @FunctionalInterface
    interface Client {
        int run(String address) throws IOException, InterruptedException;
    }

    /** The cold migration: {@code run --migrate-to} of the lab program. */
    static int run(Path work) throws IOException, InterruptedException {
        return withServer(work, address -> DemoCommand.vmm(work, "run", "--migrate-to", address, "./app"), "serve", "--once",
                "--listen", "127.0.0.1:0");
    }

    /** Starts {@code serve ARGS} in {@code work}, waits until it listens, runs {@code client}, and waits for the server. */
    static int withServer(Path work, Client client, String... serve) throws IOException, InterruptedException {
        Process server = new ProcessBuilder(SelfProcess.command(serve))
                .directory(work.toFile()).redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(server.getErrorStream(), StandardCharsets.UTF_8));
            String address = null;
            for (String line; address == null && (line = lines.readLine()) != null; ) {
                System.err.println(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) address = m.group(1);
            }
            if (address == null) return server.waitFor();
            // Keep relaying the server's lines while the client runs.
            CompletableFuture<Void> relay = CompletableFuture.runAsync(() -> lines.lines().forEach(System.err::println));
            int status = client.run(address);
            if (!server.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("the server did not finish");
            relay.join();
            return status != 0 ? status : server.exitValue();
        } finally {
            server.destroy();
        }
    }
}
