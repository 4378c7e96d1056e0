package dev.scratchvm.realprogs;

import dev.scratchvm.testing.GuestPrograms;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Programs nobody here wrote, taken from Debian's packages by scripts/fetch-debs.sh: fetched
 * with apt-get download and unpacked under target/debs/root, nothing installed system-wide.
 */
final class DebianPackages {
    private DebianPackages() {
    }

    static Path dir() {
        return GuestPrograms.repoRoot().resolve("target/debs");
    }

    /** Where the packages' files are unpacked (their paths below it are the packages' own). */
    static Path root() {
        return dir().resolve("root");
    }

    /** Fetches what is missing; skips the calling test, with the reason, when a package cannot be had. */
    static void require(String... packages) {
        List<String> cmd = new ArrayList<>(List.of("bash", GuestPrograms.repoRoot().resolve("scripts/fetch-debs.sh").toString(),
                dir().toString()));
        cmd.addAll(List.of(packages));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) p.destroyForcibly();
            for (String pkg : packages) {
                Path missing = dir().resolve(pkg + ".missing");
                assumeTrue(!Files.exists(missing), () -> "Debian package " + pkg + " unavailable: " + read(missing));
                assumeTrue(Files.exists(dir().resolve(pkg + ".ok")), () -> "Debian package " + pkg + " was not fetched");
            }
        } catch (IOException e) {
            assumeTrue(false, "cannot run scripts/fetch-debs.sh: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            assumeTrue(false, "interrupted while fetching Debian packages");
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "(no reason recorded)";
        }
    }
}
