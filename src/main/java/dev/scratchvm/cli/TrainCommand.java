package dev.scratchvm.cli;

import dev.scratchvm.bench.GuestCompiler;
import picocli.CommandLine.Command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code scratchvm train}: the training run for the JVM's ahead-of-time cache. The launcher
 * runs it once after each build with -XX:AOTCacheOutput, so the classes, linked call sites
 * and FFM downcall stubs that run, save, restore and inspect need are ready at the next start.
 */
@Command(name = "train", hidden = true, description = "Exercise run, save, restore and inspect for the JVM's AOT cache.")
final class TrainCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("scratchvm-train-");
        try {
            Path app = dir.resolve("app"), image = dir.resolve("train.img");
            GuestCompiler.compile(SelfProcess.home().resolve("examples/lab3/app.c"), SelfProcess.home().resolve("guest/include"), app);
            String root = dir.toString();
            int rc = Main.execute("run", "--root", root, "--image", image.toString(), app.toString());
            rc |= Main.execute("inspect", image.toString());
            rc |= Main.execute("restore", "--root", root, image.toString());
            return rc == 0 ? 0 : 1;
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
