package dev.scratchvm.cli;

import java.nio.file.Path;

/** The migration part of the demo; enabled once the serve command exists. */
final class MigrationDemo {
    private MigrationDemo() {
    }

    static boolean available() {
        return false;
    }

    static int run(Path work) {
        return 0;
    }
}
