package dev.scratchvm.control;

import dev.scratchvm.migration.LiveOptions;
import dev.scratchvm.migration.MigrationClient;

/**
 * Starts a live migration of a controlled VM. The command line supplies it, since it holds
 * what a migration needs beyond the request: the key, TLS settings, where log lines go, and
 * the guest's root (for {@code with_files}).
 */
@FunctionalInterface
public interface Migrator {
    /** What an operator asked for (PUT /vm/migrate). */
    record Request(String to, LiveOptions options, boolean withFiles) {
    }

    /** Migrates; refusals that leave everything as it was are {@link ControlException}s. */
    MigrationClient.Result migrate(Controller controller, Request request) throws ControlException;
}
