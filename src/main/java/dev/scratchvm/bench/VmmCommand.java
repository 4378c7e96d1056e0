package dev.scratchvm.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How the benchmark starts a fresh VMM process: through the launcher, as users do, when the
 * benchmark itself was started by it; otherwise (e.g. from the test suite) the same JVM and
 * class path directly, which skips the launcher's start-up cache.
 */
final class VmmCommand {
    private VmmCommand() {
    }

    static boolean viaLauncher() {
        return System.getProperty("scratchvm.home") != null;
    }

    static List<String> of(Path home, String... args) {
        List<String> cmd = new ArrayList<>();
        if (viaLauncher()) {
            cmd.add(home.resolve("scratchvm").toString());
        } else {
            cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), "dev.scratchvm.Main"));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }
}
