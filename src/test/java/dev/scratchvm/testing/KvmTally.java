package dev.scratchvm.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestTag;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Counts the KVM tests this JVM ran, by outcome, and writes them for the build's closing
 * summary (scripts/kvm-tests): {@code target/kvm-tests/PLACE.properties} with the flavour,
 * the counts and the failed tests. Registered with the JUnit Platform through
 * META-INF/services, so surefire's run and the test VM's runner both report.
 */
public final class KvmTally implements TestExecutionListener {
    private TestPlan plan;
    private int ran, failed, skipped;
    private final List<String> failures = new ArrayList<>();

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        if (!isKvm(test)) return;
        skipped += test.isTest() ? 1 : (int) plan.getDescendants(test).stream().filter(TestIdentifier::isTest).count();
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (!isKvm(test)) return;
        switch (result.getStatus()) {
            case SUCCESSFUL -> ran += test.isTest() ? 1 : 0;
            case ABORTED -> skipped += test.isTest() ? 1 : 0;   // an assumption said "not here"
            case FAILED -> {
                // A class whose set-up failed counts once: none of its tests ran.
                ran += test.isTest() ? 1 : 0;
                failed++;
                failures.add(test.getUniqueId());
            }
        }
    }

    private static boolean isKvm(TestIdentifier test) {
        return test.getTags().contains(TestTag.create(KvmTest.TAG));
    }

    @Override
    public void testPlanExecutionFinished(TestPlan plan) {
        if (ran + skipped == 0) return;
        Path dir = Path.of(System.getProperty("scratchvm.test.tallyDir", GuestPrograms.repoRoot().resolve("target/kvm-tests").toString()));
        String place = System.getProperty("scratchvm.test.place", "host");
        StringBuilder text = new StringBuilder()
                .append("flavour=").append(KvmPlatform.current().usable() ? KvmPlatform.current().flavour() : "none").append('\n')
                .append("ran=").append(ran).append('\n')
                .append("failed=").append(failed).append('\n')
                .append("skipped=").append(skipped).append('\n');
        for (String f : failures) text.append("failure=").append(f).append('\n');
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(place + ".properties"), text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
