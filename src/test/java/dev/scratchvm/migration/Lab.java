package dev.scratchvm.migration;

import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The lab program (examples/lab3/app.c) and what the migration tests run it with: a server on
 * a free loopback port, a client, a key file. Built with musl when available, which makes the
 * trace match the lab's ("OPEN ./ay_caramba 32834 511").
 */
final class Lab {
    static final String FILE = "ay_caramba";
    static final String FIRST = "Hello World !!!\n", BOTH = FIRST + "Bye Bye !!!\n";
    /** The second half of the program, wherever it runs: the WRITE of "Bye Bye !!!\n". */
    static final String SECOND_WRITE = ".*VM_APP - WRITE 3 \\p{XDigit}+ 12 - return 12";
    static final String TIMEOUT = "2";

    private Lab() {
    }

    static Libc libc() {
        return GuestPrograms.muslAvailable() ? Libc.MUSL : Libc.GLIBC;
    }

    /** Copies the lab program into {@code dir} as ./app. */
    static void install(Path dir) {
        Path app = GuestPrograms.buildFile(Path.of("examples/lab3/app.c"), libc());
        try {
            Files.copy(app, dir.resolve("app"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fresh key file (mode 0600) in {@code dir}. */
    static Path key(Path dir, String secret) {
        Path key = dir.resolve("migration-" + secret.hashCode() + ".key");
        try {
            Files.deleteIfExists(key);
            Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(key, secret + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return key;
    }

    static Path key(Path dir) {
        return key(dir, "0123456789abcdef-the-test-key");
    }

    /** Starts {@code serve --once} on a free loopback port and waits until it listens. */
    static Server server(Path root, Path key, String... extra) {
        List<String> args = new ArrayList<>(List.of("serve", "--once", "--listen", "127.0.0.1:0", "--key-file", key.toString(),
                "--timeout", TIMEOUT));
        args.addAll(List.of(extra));
        VmmProcess p = VmmProcess.start(root, args.toArray(String[]::new));
        String port = p.awaitLine("VMM_SERVER: listening on 127\\.0\\.0\\.1:(\\d+)", Duration.ofSeconds(30)).group(1);
        return new Server(p, Integer.parseInt(port));
    }

    record Server(VmmProcess process, int port) implements AutoCloseable {
        String address() {
            return "127.0.0.1:" + port;
        }

        @Override
        public void close() {
            process.close();
        }
    }

    /** Runs ./app in {@code dir}, migrating it to {@code to} at SAVE. */
    static VmmProcess client(Path dir, String to, Path key, String... extra) {
        List<String> args = new ArrayList<>(List.of("run", "--migrate-to", to, "--key-file", key.toString(),
                "--migrate-timeout", TIMEOUT));
        args.addAll(List.of(extra));
        args.add("./app");
        return VmmProcess.start(dir, args.toArray(String[]::new));
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
