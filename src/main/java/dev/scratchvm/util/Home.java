package dev.scratchvm.util;

import java.nio.file.Path;

/** The repository this build runs from (examples/, guest/), for the commands that compile guest programs. */
public final class Home {
    private Home() {
    }

    /** From the launcher's -Dscratchvm.home, else found above where the classes were loaded, else the current directory. */
    public static Path directory() {
        String home = System.getProperty("scratchvm.home");
        if (home != null) return Path.of(home);
        try {
            Path p = Path.of(Home.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
            for (; p != null; p = p.getParent()) if (p.resolve("examples").toFile().isDirectory()) return p;
        } catch (Exception ignored) {
            // fall through
        }
        return Path.of(".").toAbsolutePath();
    }
}
