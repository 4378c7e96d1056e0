package dev.scratchvm.cli;

import dev.scratchvm.control.ApiServer;
import dev.scratchvm.control.Controller;
import dev.scratchvm.control.RehearsedMigration;
import dev.scratchvm.migration.Rehearsal;
import dev.scratchvm.migration.TlsSettings;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.WarmUp;

import java.io.IOException;
import java.nio.file.Path;

/** Runs a machine under a controller to its end and turns that into an exit code; shared by run, restore and serve. */
final class Session {
    private Session() {
    }

    /** The warm-up's last part in a VMM that may send or receive a VM: whole migrations to itself (at most 20). */
    static final WarmUp.More MIGRATIONS = (state, config, until) -> Rehearsal.run(state, config, until, 20);

    /** As {@link #MIGRATIONS}, for a VMM with a control socket: also as {@code ctl migrate} migrates, through a controller. */
    static final WarmUp.More CONTROLLED_MIGRATIONS = (state, config, until) ->
            Rehearsal.run(state, config, until, 30, RehearsedMigration.of(state, config));

    /**
     * @param prefix  what the guest's own lines start with (trace, SAVE OPERATION); the VMM's
     *                reports drop its {@code VM_APP - } part, since they are not the guest's
     * @param apiSock where to serve the control API, or null for none
     */
    static int run(Machine machine, SaveTarget saveTarget, String prefix, boolean verbose, Path apiSock, Metrics metrics,
                   Path keyFile, Path root) {
        return run(machine, saveTarget, prefix, verbose, apiSock, metrics, keyFile, null, root);
    }

    /** As above; {@code tls} (may be null) is what a live migration asked for through the control socket uses. */
    static int run(Machine machine, SaveTarget saveTarget, String prefix, boolean verbose, Path apiSock, Metrics metrics,
                   Path keyFile, TlsSettings tls, Path root) {
        String vmmPrefix = prefix.replace("VM_APP - ", "");
        Controller controller = Controller.of(machine, saveTarget::save).listen(metrics.of(machine)).listen(e -> {
            // Live migration's progress, one line a round, whatever the verbosity.
            if (e instanceof Controller.Event.MigrationRound m) System.err.println(vmmPrefix + "migration " + m.report().line());
        });
        if (verbose) controller.listen(new Report(machine, vmmPrefix));
        ApiServer api = null;
        try {
            if (apiSock != null) {
                api = ApiServer.open(apiSock, controller, new LiveMigrator(keyFile, tls, root, vmmPrefix));
                // A snapshot's capture and encoding would otherwise run cold, while the guest waits.
                WarmUp.inBackground(machine.config(), CONTROLLED_MIGRATIONS, WarmUp.Budget.BESIDE_GUEST);
                // And a live migration's handshake, should one be asked for.
                dev.scratchvm.migration.MigrationClient.warmUpInBackground();
            }
            Controller.Ending end = controller.start().awaitEnd();
            if (end.message() != null) System.err.println(prefix + end.message());
            return end.exitStatus();
        } catch (IOException e) {
            System.err.println(vmmPrefix + "scratchvm: cannot serve the control API at " + apiSock + ": " + e.getMessage());
            return Controller.VM_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Controller.VM_FAILED;
        } finally {
            try {
                controller.close();
                if (api != null) api.close();
            } catch (IOException | InterruptedException e) {
                // ending anyway
            }
        }
    }
}
