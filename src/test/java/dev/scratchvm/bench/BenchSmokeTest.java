package dev.scratchvm.bench;

import dev.scratchvm.testing.KvmTest;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The benchmark still runs end to end; its numbers are not judged here (the machines are shared and noisy). */
@KvmTest
@Tag(KvmTest.BENCHMARK)
class BenchSmokeTest {
    @Test
    @DisplayName("bench --quick measures every scenario, prints the table and writes JSON")
    void quickBenchRunsEveryScenario(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        List<String> cmd = List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "dev.scratchvm.Main", "bench", "--quick",
                "--dir", dir.resolve("work").toString(), "--json", json.toString());
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as(out).isTrue();

        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("raw VM exit", "guest write(/dev/null", "save 512 MiB VM, 256 MiB written", "restore 1 GiB VM",
                "diff snapshot, 1 GiB VM, 1 MiB dirtied", "dirty logging on",
                "pause of a compute loop", "pause + full snapshot durable + resume",
                "migrate 16 MiB lab VM: downtime", "start: launch to first guest instruction", "VMM RSS beyond guest memory");
        String report = Files.readString(json);
        assertThat(report).startsWith("[").contains("\"scenario\"", "\"median\"", "\"floor_name\"");
        assertThat(report).doesNotContain("NaN", "\"median\": 0.0000,");
    }
}
