package dev.scratchvm.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestTag;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Counts the KVM tests this JVM runs, per test class, for the build's closing summary
 * (scripts/kvm-tests). Each KVM test class appends one line to
 * {@code target/kvm-tests/PLACE.tally} as soon as it ends, so what ran survives a JVM or a
 * test VM that dies later, and a later run in the same place can go on from there:
 * <pre>
 * flavour=svm (nested)
 * class=dev.scratchvm.vm.DifferentialTest tests=30 failed=0 skipped=0
 * </pre>
 * A class that appears again (run once more after failing) counts with its last line.
 * Registered with the JUnit Platform through META-INF/services, so surefire's run and the
 * test VM's runner both report.
 */
public final class KvmTally implements TestExecutionListener {
    /** Counts of one class: tests that ran, failed, were skipped. */
    private static final class Counts {
        int tests, failed, skipped;
    }

    private final Map<String, Counts> running = new HashMap<>();
    private TestPlan plan;
    private boolean flavourWritten;

    /** The tally file of a place, in the directory the build reads. */
    public static Path file(String place) {
        return Path.of(System.getProperty("scratchvm.test.tallyDir",
                GuestPrograms.repoRoot().resolve("target/kvm-tests").toString())).resolve(place + ".tally");
    }

    /** What a place's tally says of one class: whether its last run failed, and how many runs it had. */
    public record ClassResult(boolean failed, int runs) {
    }

    /** The classes a place has results for, in the order they first ended. */
    public static Map<String, ClassResult> finishedClasses(String place) {
        Map<String, ClassResult> done = new LinkedHashMap<>();
        Path f = file(place);
        if (!Files.exists(f)) return done;
        try {
            for (String line : Files.readAllLines(f)) {
                if (!line.startsWith("class=")) continue;
                String[] fields = line.split(" ");
                done.merge(fields[0].substring("class=".length()), new ClassResult(!fields[2].equals("failed=0"), 1),
                        (before, now) -> new ClassResult(now.failed(), before.runs() + 1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return done;
    }

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        if (!isKvm(test)) return;
        int n = test.isTest() ? 1 : (int) plan.getDescendants(test).stream().filter(TestIdentifier::isTest).count();
        String cls = classOf(test);
        if (cls == null) return;
        if (test.getSource().orElse(null) instanceof ClassSource) {
            Counts c = new Counts();
            c.skipped = n;
            append(cls, c);
        } else {
            running.computeIfAbsent(cls, k -> new Counts()).skipped += n;
        }
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (!isKvm(test)) return;
        String cls = classOf(test);
        if (cls == null) return;
        Counts c = running.computeIfAbsent(cls, k -> new Counts());
        switch (result.getStatus()) {
            case SUCCESSFUL -> c.tests += test.isTest() ? 1 : 0;
            case ABORTED -> c.skipped += test.isTest() ? 1 : 0;   // an assumption said "not here"
            case FAILED -> {
                // A class whose set-up failed counts once: none of its tests ran.
                c.tests += test.isTest() ? 1 : 0;
                c.failed++;
            }
        }
        if (test.getSource().orElse(null) instanceof ClassSource) {
            append(cls, running.remove(cls));
        }
    }

    private static boolean isKvm(TestIdentifier test) {
        return test.getTags().contains(TestTag.create(KvmTest.TAG));
    }

    private static String classOf(TestIdentifier test) {
        return switch (test.getSource().orElse(null)) {
            case ClassSource c -> c.getClassName();
            case MethodSource m -> m.getClassName();
            case null, default -> null;
        };
    }

    private void append(String cls, Counts c) {
        if (c.tests + c.skipped + c.failed == 0) return;
        StringBuilder text = new StringBuilder();
        if (!flavourWritten) {
            text.append("flavour=").append(KvmPlatform.current().usable() ? KvmPlatform.current().flavour() : "none").append('\n');
            flavourWritten = true;
        }
        text.append("class=").append(cls).append(" tests=").append(c.tests).append(" failed=").append(c.failed)
                .append(" skipped=").append(c.skipped).append('\n');
        Path f = file(System.getProperty("scratchvm.test.place", "host"));
        try {
            Files.createDirectories(f.getParent());
            Files.writeString(f, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
