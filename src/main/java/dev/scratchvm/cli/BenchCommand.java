package dev.scratchvm.cli;

import dev.scratchvm.bench.Bench;
import dev.scratchvm.bench.Result;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code scratchvm bench [--quick] [--json FILE]}. */
@Command(name = "bench", mixinStandardHelpOptions = true, version = Main.VERSION, description = "Measure system calls, start-up, save, restore and migration against floors measured in the same run.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "Few repetitions: proves the suite runs (under a minute), numbers are rough.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Option(names = "--dir", paramLabel = "DIR", description = "Work directory for programs and images (default: a new temporary one).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("scratchvm-bench-");
        List<Result> results = new Bench(Bench.Profile.of(quick), SelfProcess.home(), work).run();
        System.out.print(Bench.table(results));
        if (json != null) Files.writeString(json, Bench.json(results));
        return 0;
    }
}
