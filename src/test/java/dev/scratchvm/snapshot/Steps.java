package dev.scratchvm.snapshot;

import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The steps of a save/restore scenario, each in a brand-new VMM process, with the checks that
 * hold for every step of its kind. Timings go to the test's standard output.
 */
final class Steps {
    static final String SAVED = "SAVE OPERATION";
    static final String RESTORED = "RESTORE OPERATION";
    /** How long one VMM process may take before it is killed and the test fails. */
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    private Steps() {
    }

    /** {@code scratchvm run ARGS}: the guest must reach SAVE(), be saved, and the VMM exit 0. */
    static Result runUntilSaved(Path dir, String image, String... runArgs) {
        Result r = vmm(dir, "run", runArgs);
        assertThat(r.exit()).as("run exit code\n%s", r).isZero();
        assertThat(r.stderrLines()).as("run stderr\n%s", r).isNotEmpty().last().isEqualTo(SAVED);
        assertThat(dir.resolve(image)).as("image written").isRegularFile();
        return r;
    }

    /** {@code scratchvm restore ARGS}: the VM must be rebuilt before anything else is printed. */
    static Result restore(Path dir, String... restoreArgs) {
        Result r = vmm(dir, "restore", restoreArgs);
        assertThat(r.stderrLines()).as("restore stderr\n%s", r).isNotEmpty().first().isEqualTo(RESTORED);
        return r;
    }

    /** {@code scratchvm restore ARGS} that must be refused before the guest runs again. */
    static Result restoreRefused(Path dir, String... restoreArgs) {
        Result r = vmm(dir, "restore", restoreArgs);
        assertRefused(r);
        return r;
    }

    /**
     * A refusal as a user must see it: one line on stderr starting "scratchvm: ", no stack
     * trace, a non-zero exit, and no sign that the guest ran.
     */
    static void assertRefused(Result r) {
        assertThat(r.exit()).as("exit code\n%s", r).isNotZero();
        assertThat(r.stderrLines()).as("stderr is one line\n%s", r).hasSize(1);
        assertThat(r.stderr()).as("stderr\n%s", r).startsWith("scratchvm: ")
                .doesNotContain("Exception").doesNotContain("\tat ").doesNotContain(RESTORED);
        assertThat(r.stdout()).as("the guest printed nothing\n%s", r).isEmpty();
    }

    static Result vmm(Path dir, String command, String... args) {
        List<String> all = new ArrayList<>();
        all.add(command);
        all.addAll(List.of(args));
        long start = System.nanoTime();
        Result r = VmmProcess.run(dir, null, TIMEOUT, all);
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("[%5d ms] scratchvm %s -> %d%n", millis, String.join(" ", all), r.exit());
        return r;
    }

    static long size(Path file) {
        try {
            return Files.size(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
