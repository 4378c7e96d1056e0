package dev.scratchvm.bench;

import dev.scratchvm.control.ApiClient;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Live migration between two real VMM processes over loopback, started through the control
 * socket as a user would ({@code ctl SOCK migrate}): the guest keeps running while its memory
 * moves. Downtime is from the guest's stop at the source to its resumption at the server
 * (both VMMs stamp the wall clock in their {@code --metrics} files).
 */
record LiveMigrationBench(Bench.Profile profile, Path home, Path work, Bench.Programs programs, Path key) {
    /** A guest shape: memory, what the guest does, and when to migrate it. */
    private record Shape(String name, String memory, String[] args, long settleMillis) {
    }

    List<Result> run() throws Exception {
        Path dir = Files.createDirectories(work.resolve("live-migration"));
        List<Result> results = new ArrayList<>();
        Shape dirtying = new Shape("256 MiB VM dirtying 16 MiB/s", "256M", new String[]{"rate", "192", "16384", "600"}, 2500);
        Shape idle = new Shape("1 GiB VM, 1 MiB touched", "1G", new String[]{"rate", "1", "1", "600"}, 2500);
        for (Shape shape : List.of(dirtying, idle)) {
            List<Double> downtime = new ArrayList<>(), total = new ArrayList<>(), bytes = new ArrayList<>(), rounds = new ArrayList<>();
            Spans spans = new Spans();
            for (int i = 0; i < profile.rounds(); i++) {
                Map<String, Object> m = migrate(dir, shape, spans);
                downtime.add(number(m, "downtime_ms"));
                total.add(number(m, "elapsed_ns") / 1e6);
                bytes.add(number(m, "bytes_on_wire"));
                rounds.add(number(m, "rounds"));
            }
            Stats d = Stats.of(downtime), t = Stats.of(total);
            String shapeNote = String.format("%.0f rounds, %.1f MiB sent (median)", Stats.of(rounds).median(),
                    Stats.of(bytes).median() / 1048576.0);
            if (shape == dirtying) {
                results.add(new Result("live " + shape.name() + ": downtime", "ms", d, null, null, "<= 10 ms", d.median() <= 10,
                        shapeNote + "; QEMU 7.2 on this kind of machine: 126 ms; " + spans.note()));
                double ratio = Stats.of(bytes).median() / (256.0 * 1048576);
                results.add(new Result("live " + shape.name() + ": bytes / memory", "x", Stats.of(bytes.stream().map(b -> b / (256.0 * 1048576)).toList()),
                        null, null, "<= 1.5x guest memory", ratio <= 1.5, null));
            } else {
                results.add(new Result("live " + shape.name() + ": total", "ms", t, null, null, "<= 20 ms", t.median() <= 20,
                        shapeNote + String.format("; downtime %.2f ms; ", d.median()) + spans.note()));
            }
        }
        return results;
    }

    private static double number(Map<String, Object> m, String field) {
        return ((Number) m.get(field)).doubleValue();
    }

    /** One live migration of a fresh VM of {@code shape} to a fresh {@code serve --once}; the figures of the move. */
    private Map<String, Object> migrate(Path dir, Shape shape, Spans spans) throws Exception {
        Path serverMetrics = dir.resolve("server-metrics.jsonl"), clientMetrics = dir.resolve("client-metrics.jsonl");
        Path sock = dir.resolve("vm.sock");
        Files.deleteIfExists(serverMetrics);
        Files.deleteIfExists(clientMetrics);
        Process server = new ProcessBuilder(VmmCommand.of(home, "serve", "--once", "--trace=none", "--listen", "127.0.0.1:0",
                "--key-file", key.toString(), "--metrics", serverMetrics.toString(), "--state-dir", dir.resolve("state").toString()))
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
        Process client = null;
        try {
            String address = (String) MetricsFile.await(serverMetrics, "listening", server, Duration.ofSeconds(60)).get("address");
            List<String> cmd = new ArrayList<>(VmmCommand.of(home, "run", "--trace=none", "--memory", shape.memory(),
                    "--key-file", key.toString(), "--api-sock", sock.toString(), "--metrics", clientMetrics.toString(),
                    programs.live().toString()));
            cmd.addAll(List.of(shape.args()));
            client = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("client.log").toFile()).start();
            for (long until = System.nanoTime() + 60_000_000_000L; !Files.exists(sock); Thread.sleep(10)) {
                if (System.nanoTime() - until > 0 || !client.isAlive()) {
                    throw new IllegalStateException("the source VMM did not come up:\n" + Files.readString(dir.resolve("client.log")));
                }
            }
            // The guest has filled its memory and is at its steady work, and the VMM's warm-up (at most
            // 1.4 s from its start) is over (the quick profile only proves it runs).
            Thread.sleep(profile.quick() ? Math.min(1000, shape.settleMillis()) : shape.settleMillis());
            ApiClient.Reply r = ApiClient.migrate(sock, address, 10, 60, "abort", false, false);
            if (!r.ok()) {
                throw new IllegalStateException("live migration failed: " + r.error() + "\nclient:\n" + Files.readString(dir.resolve("client.log"))
                        + "server:\n" + Files.readString(dir.resolve("server.log")));
            }
            if (!client.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("the source VMM did not end after the migration");
            var sent = MetricsFile.event(clientMetrics, "migration_live");
            var received = MetricsFile.await(serverMetrics, "migration_received", server, Duration.ofSeconds(60));
            var resumed = MetricsFile.await(serverMetrics, "started", server, Duration.ofSeconds(60));
            spans.add("client", sent);
            spans.add("server", received);
            Map<String, Object> m = new java.util.HashMap<>(sent);
            // Until the guest's first instruction there, not until the server's report of the arrival.
            m.put("downtime_ms", (MetricsFile.number(resumed, "first_instruction_epoch_ns") - MetricsFile.number(sent, "guest_stopped_epoch_ns")) / 1e6);
            return m;
        } finally {
            if (client != null) client.destroyForcibly();
            server.destroyForcibly();
            server.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
