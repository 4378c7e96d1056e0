package dev.scratchvm.bench;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.util.Home;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code scratchvm bench [--quick] [--only PARTS] [--json FILE] [--dir DIR]}. */
public final class BenchCommand implements Command {
    public static final Spec<BenchCommand> SPEC = Spec.of("bench",
                    "Measure system calls, start-up, save, restore and migration against floors measured in the same run.", BenchCommand::new)
            .flag("Few repetitions: proves the suite runs (under a minute), numbers are rough.", c -> c.quick = true, "--quick")
            .option("--json", "FILE", "Also write the results as JSON.", (c, v) -> c.json = Values.path(v))
            .option("--only", "PARTS", "Run only these parts, comma-separated: " + String.join(", ", Bench.PARTS) + ".",
                    (c, v) -> c.only = parts(v))
            .option("--dir", "DIR", "Work directory for programs and images (default: a new temporary one).", (c, v) -> c.dir = Values.path(v));

    boolean quick;
    Path json;
    Path dir;
    java.util.Set<String> only;

    private static java.util.Set<String> parts(String v) {
        java.util.Set<String> parts = new java.util.LinkedHashSet<>(List.of(v.split(",")));
        for (String p : parts) {
            if (!Bench.PARTS.contains(p)) throw new IllegalArgumentException("no part '" + p + "' (parts: " + String.join(", ", Bench.PARTS) + ")");
        }
        return parts;
    }

    @Override
    public int call() throws Exception {
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("scratchvm-bench-");
        List<Result> results = new Bench(Bench.Profile.of(quick), Home.directory(), work, only).run();
        System.out.print(Bench.table(results));
        if (json != null) Files.writeString(json, Bench.json(results));
        return 0;
    }
}
