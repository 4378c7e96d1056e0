package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.control.ApiClient;

import java.io.IOException;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** {@code scratchvm ctl SOCK pause|resume|snapshot FILE [--diff] [--leave-running]|stop|status [--json]}. */
final class CtlCommand {
    static final Spec<CtlCommand> SPEC = Spec.of("ctl", "Steer a running VM through its control socket (run/restore/serve --api-sock).",
                    CtlCommand::new)
            .parameter("SOCK", "The VM's control socket.", (c, v) -> c.socket = Values.path(v))
            .subcommand(Spec.<CtlCommand, Simple>sub("pause", "Stop the guest; it keeps its state until resume.", p -> new Simple(p, "/vm/pause")))
            .subcommand(Spec.<CtlCommand, Simple>sub("resume", "Let a paused guest go on.", p -> new Simple(p, "/vm/resume")))
            .subcommand(Spec.<CtlCommand, Simple>sub("stop", "End the VM now (exit status 137).", p -> new Simple(p, "/vm/stop")))
            .subcommand(Spec.<CtlCommand, Status>sub("status", "State, memory, dirty pages, uptime, system calls.", Status::new)
                    .flag("Print the VMM's JSON answer.", s -> s.json = true, "--json"))
            .subcommand(Spec.<CtlCommand, SnapshotCommand>sub("snapshot",
                            "Write the VM to FILE, durably; a running VM then ends here unless --leave-running.", SnapshotCommand::new)
                    .parameter("FILE", "The image to write.", (s, v) -> s.image = Values.path(v))
                    .flag("Only the pages changed since the previous snapshot, which it names as its parent.", s -> s.diff = true, "--diff")
                    .flag("The guest goes on after the snapshot.", s -> s.leaveRunning = true, "--leave-running")
                    .flag("Print the VMM's JSON answer.", s -> s.json = true, "--json"))
            .subcommand(Spec.<CtlCommand, MigrateCommand>sub("migrate",
                            "Move the running VM to 'scratchvm serve' at HOST:PORT while it runs; it stops only for the last pages.",
                            MigrateCommand::new)
                    .parameter("HOST:PORT", "The receiving 'scratchvm serve'.", (m, v) -> m.to = v)
                    .option("--downtime-ms", "N", "Stop the guest once the rest can cross in N ms (default: 10).",
                            (m, v) -> m.downtimeMs = Values.integer(v))
                    .option("--timeout-s", "N", "Give the guest N seconds to converge (default: 60).", (m, v) -> m.timeoutS = Values.integer(v))
                    .option("--on-timeout", "abort|stop-and-copy",
                            "When it has not converged: keep the VM here (abort, the default) or stop it and copy the rest.",
                            (m, v) -> m.onTimeout = v)
                    .flag("Slow a guest that dirties memory faster than the link carries it.", m -> m.autoConverge = true, "--auto-converge")
                    .flag("Also send the guest's open files if the server lacks them.", m -> m.withFiles = true, "--with-files")
                    .flag("Print the VMM's JSON answer.", m -> m.json = true, "--json"));

    Path socket;

    /** Exit status when the VM refuses the operation in its state (EX_TEMPFAIL: try again later). */
    static final int REFUSED = 75;

    /** pause, resume, stop: a PUT without a body. */
    private record Simple(CtlCommand ctl, String resource) implements Command {
        @Override
        public int call() throws Exception {
            ApiClient.Reply r = ctl.send(() -> ApiClient.put(ctl.socket, resource));
            if (!r.ok()) return ctl.refused(r);
            System.out.println(switch (resource) {
                case "/vm/pause" -> String.format(Locale.ROOT, "paused in %.2f ms", ((Long) r.fields().get("latency_us")) / 1000.0);
                case "/vm/resume" -> "resumed";
                default -> "stopped";
            });
            return 0;
        }
    }

    private static final class Status implements Command {
        private final CtlCommand ctl;
        boolean json;

        Status(CtlCommand ctl) {
            this.ctl = ctl;
        }

        @Override
        public int call() throws Exception {
            ApiClient.Reply r = ctl.send(() -> ApiClient.get(ctl.socket, "/vm"));
            if (!r.ok()) return ctl.refused(r);
            var f = r.fields();
            System.out.println(json ? r.json() : String.format(Locale.ROOT,
                    "state %s, memory %d MiB, %d pages dirty since the last snapshot, up %.1f s, %d system calls",
                    f.get("state"), (Long) f.get("memory_bytes") >> 20, (Long) f.get("dirty_pages"),
                    (Long) f.get("uptime_ms") / 1000.0, (Long) f.get("syscalls")));
            return 0;
        }
    }

    private static final class SnapshotCommand implements Command {
        private final CtlCommand ctl;
        Path image;
        boolean diff, leaveRunning, json;

        SnapshotCommand(CtlCommand ctl) {
            this.ctl = ctl;
        }

        @Override
        public int call() throws Exception {
            ApiClient.Reply r = ctl.send(() -> ApiClient.snapshot(ctl.socket, image, diff, leaveRunning));
            if (!r.ok()) return ctl.refused(r);
            var f = r.fields();
            System.out.println(json ? r.json() : String.format(Locale.ROOT,
                    "snapshot %s (%s): %d pages, %d bytes, guest paused %.2f ms; %s", f.get("path"), f.get("kind"),
                    (Long) f.get("pages"), (Long) f.get("bytes"), (Long) f.get("paused_us") / 1000.0,
                    "exited".equals(f.get("state")) ? "the VM has ended here and lives on in the image" : "the VM is " + f.get("state")));
            return 0;
        }
    }

    private static final class MigrateCommand implements Command {
        private final CtlCommand ctl;
        String to, onTimeout = "abort";
        long downtimeMs = 10, timeoutS = 60;
        boolean autoConverge, withFiles, json;

        MigrateCommand(CtlCommand ctl) {
            this.ctl = ctl;
        }

        @Override
        public int call() throws Exception {
            if (!onTimeout.equals("abort") && !onTimeout.equals("stop-and-copy")) {
                throw new IllegalArgumentException("--on-timeout must be abort or stop-and-copy, not '" + onTimeout + "'");
            }
            if (downtimeMs < 1 || timeoutS < 1) throw new IllegalArgumentException("--downtime-ms and --timeout-s must be at least 1");
            ApiClient.Reply r = ctl.send(() -> ApiClient.migrate(ctl.socket, to, downtimeMs, timeoutS, onTimeout, autoConverge, withFiles));
            if (!r.ok()) return ctl.refused(r);
            var f = r.fields();
            System.out.println(json ? r.json() : String.format(Locale.ROOT,
                    "migrated to %s: downtime %.2f ms, %d rounds, %.1f MiB sent (%.1f MiB in use), %.0f ms in all%s", to,
                    (Long) f.get("downtime_us") / 1000.0, (Long) f.get("rounds"), (Long) f.get("bytes") / 1048576.0,
                    (Long) f.get("cold_bytes") / 1048576.0, (Long) f.get("elapsed_us") / 1000.0,
                    Boolean.TRUE.equals(f.get("stopped_by_timeout")) ? "; stopped by the timeout" : ""));
            return 0;
        }
    }

    @FunctionalInterface
    private interface Exchange {
        ApiClient.Reply send() throws IOException;
    }

    /** One exchange, with the reasons a socket cannot be reached said plainly. */
    private ApiClient.Reply send(Exchange exchange) throws IOException {
        if (!Files.exists(socket)) throw new IOException(socket + ": no such control socket (is a VM running with --api-sock?)");
        try {
            return exchange.send();
        } catch (SocketException e) {
            throw new IOException(socket + ": cannot reach the VMM: " + e.getMessage());
        }
    }

    private int refused(ApiClient.Reply r) {
        System.err.println("scratchvm: " + r.error());
        return r.status() == 409 ? REFUSED : 1;
    }
}
