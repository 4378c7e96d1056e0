package dev.scratchvm.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Migration over loopback between two real VMM processes ({@code serve} and
 * {@code run --migrate-to}, through the launcher): total time and bytes on the wire from
 * the client, downtime from the client's SAVE to the guest's first instruction on the server
 * (both stamp the wall clock in their {@code --metrics} files), next to raw TCP between two JVM
 * processes in the same run; then each VM again with {@code --tls-dir} on both sides, against
 * its own run without TLS, which is TLS's cost.
 */
record MigrationBench(Bench.Profile profile, Path home, Path work, Bench.Programs programs) {
    /** One kind of migration; {@code tls}: both sides with {@code --tls-dir}, next to the same VM without. */
    private record Shape(String name, Path program, String memory, String[] args, Double downtimeTargetMs, boolean tls) {
        String label() {
            return name + (tls ? ", TLS" : "");
        }
    }

    List<Result> run() throws Exception {
        Path dir = Files.createDirectories(work.resolve("migration"));
        Path key = key(work);
        List<Result> results = new ArrayList<>();
        List<Double> raw = new ArrayList<>(), fresh = new ArrayList<>();
        for (int i = 0; i < profile.rounds(); i++) {
            raw.add(TcpFloor.measure(256L << 20, false));
            fresh.add(TcpFloor.measure(256L << 20, true));
        }
        Stats floor = Stats.of(raw);
        Path tlsDir = BenchCertificates.in(work);
        java.util.Map<String, Stats> plainTotal = new java.util.HashMap<>(), plainRate = new java.util.HashMap<>();
        for (Shape shape : List.of(
                new Shape("16 MiB lab VM", programs.lab(), "16M", new String[0], 10.0, false),
                new Shape("256 MiB VM, 240 MiB written", programs.touchMemory(), "256M", new String[]{"240"}, null, false),
                new Shape("16 MiB lab VM", programs.lab(), "16M", new String[0], null, true),
                new Shape("256 MiB VM, 240 MiB written", programs.touchMemory(), "256M", new String[]{"240"}, null, true))) {
            List<Double> total = new ArrayList<>(), downtime = new ArrayList<>(), rate = new ArrayList<>();
            Spans spans = new Spans();
            long wire = 0;
            for (int i = 0; i < profile.rounds(); i++) {
                Files.deleteIfExists(dir.resolve("ay_caramba"));
                double[] m = migrate(dir, key, shape.tls() ? tlsDir : null, shape, spans);
                total.add(m[0]);
                downtime.add(m[1]);
                rate.add(m[2] / m[0] / 1e6);
                wire = (long) m[2];
            }
            Stats d = Stats.of(downtime), r = Stats.of(rate);
            String note = String.format("%.1f MiB on the wire", wire / 1048576.0);
            if (shape.tls()) {
                // TLS's cost: the same VM without TLS, measured in this run, is the floor.
                results.add(new Result("migrate " + shape.label() + ": total", "ms", Stats.of(total), "without TLS",
                        plainTotal.get(shape.name()), null, null, note));
                results.add(new Result("migrate " + shape.label() + ": downtime", "ms", d, null, null, null, null, null));
                if (wire > 64L << 20) {
                    results.add(new Result("migrate " + shape.label() + ": throughput", "GB/s", r, "without TLS",
                            plainRate.get(shape.name()), null, null, "AES-128-GCM, both sides on the same CPUs"));
                }
                continue;
            }
            plainTotal.put(shape.name(), Stats.of(total));
            plainRate.put(shape.name(), r);
            results.add(new Result("migrate " + shape.label() + ": total", "ms", Stats.of(total), null, null, null, null, note));
            results.add(new Result("migrate " + shape.label() + ": downtime", "ms", d, null, null,
                    shape.downtimeTargetMs() == null ? null : "<= " + shape.downtimeTargetMs().intValue() + " ms",
                    shape.downtimeTargetMs() == null ? null : d.median() <= shape.downtimeTargetMs(), spans.note()));
            if (wire > 64L << 20) {
                results.add(new Result("migrate " + shape.label() + ": throughput", "GB/s", r, "raw TCP, 2 JVMs", floor,
                        ">= 60% of floor", r.median() >= 0.6 * floor.median(),
                        String.format("raw TCP into fresh memory (as a receiver must): %.2f GB/s", Stats.of(fresh).median())));
            }
        }
        return results;
    }

    /** A key of the benchmark's own, so that it never creates or needs the user's key. */
    static Path key(Path work) throws java.io.IOException {
        Path key = Files.createDirectories(work.resolve("migration")).resolve("bench.key");
        if (!Files.exists(key)) {
            byte[] secret = new byte[32];
            new java.security.SecureRandom().nextBytes(secret);
            Files.writeString(key, java.util.HexFormat.of().formatHex(secret) + "\n");
            Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        return key;
    }

    /** One migration; returns {total ms, downtime ms, bytes on the wire}, from both VMMs' metrics files. */
    private double[] migrate(Path dir, Path key, Path tlsDir, Shape shape, Spans spans) throws Exception {
        Path serverMetrics = dir.resolve("server-metrics.jsonl"), clientMetrics = dir.resolve("client-metrics.jsonl");
        Files.deleteIfExists(serverMetrics);
        List<String> serve = new ArrayList<>(VmmCommand.of(home, "serve", "--once", "--trace=none", "--listen", "127.0.0.1:0",
                "--key-file", key.toString(), "--metrics", serverMetrics.toString()));
        if (tlsDir != null) serve.addAll(List.of("--tls-dir", tlsDir.toString()));
        Process server = new ProcessBuilder(serve).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
        try {
            String address = (String) MetricsFile.await(serverMetrics, "listening", server, Duration.ofSeconds(60)).get("address");
            List<String> cmd = new ArrayList<>(VmmCommand.of(home, "run", "--trace=none", "--memory", shape.memory(),
                    "--key-file", key.toString(), "--migrate-to", address, "--metrics", clientMetrics.toString()));
            if (tlsDir != null) cmd.addAll(List.of("--tls-dir", tlsDir.toString()));
            cmd.add(shape.program().toString());
            cmd.addAll(List.of(shape.args()));
            Process client = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
            String clientLog = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!client.waitFor(120, TimeUnit.SECONDS)) throw new IllegalStateException("migrating client did not finish:\n" + clientLog);
            if (client.exitValue() != 0) {
                throw new IllegalStateException("migrating client failed (exit " + client.exitValue() + "):\n" + clientLog
                        + "server:\n" + Files.readString(dir.resolve("server.log")));
            }
            if (!server.waitFor(120, TimeUnit.SECONDS)) throw new IllegalStateException("serve did not finish");
            var sent = MetricsFile.event(clientMetrics, "migration_sent");
            var received = MetricsFile.event(serverMetrics, "migration_received");
            spans.add("client", sent);
            spans.add("server", received);
            double downtimeMs = (MetricsFile.number(MetricsFile.event(serverMetrics, "started"), "first_instruction_epoch_ns")
                    - MetricsFile.number(sent, "guest_paused_epoch_ns")) / 1e6;
            return new double[]{MetricsFile.number(sent, "elapsed_ns") / 1e6, downtimeMs, MetricsFile.number(sent, "bytes_on_wire")};
        } finally {
            server.destroy();
        }
    }
}
