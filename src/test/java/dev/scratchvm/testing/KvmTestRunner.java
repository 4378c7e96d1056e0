package dev.scratchvm.testing;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassNameFilter;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the KVM tests in one JVM, the way the test VM (scripts/testvm) runs them: every test
 * class of the project whose tags match the expression, one line per class as it ends, the
 * failures in full. A class that failed is run once more right away, to tell a flaky emulator
 * from a bug; both attempts are reported, and a test counts as passed only if the retry passed.
 * Classes that already have a result in this place's tally ({@link KvmTally}) are not run
 * again: a test VM that died part-way is restarted and goes on from where it stopped.
 *
 * <p>With a second expression, the classes of the first (the set that must run) come first,
 * retries included; then {@code PLACE.required-done} is written next to the tally, and the
 * classes of the second that have no result yet run while the build gives it time.
 *
 * <pre>java -cp TEST_CLASSPATH dev.scratchvm.testing.KvmTestRunner [TAG_EXPRESSION [REST_EXPRESSION]]</pre>
 * Exit status: 0 all passed, 1 some failed, 2 nothing matched.
 */
public final class KvmTestRunner {
    private static final String PLACE = "scratchvm.test.place";
    /** Per test (JUnit's syntax). The slowest test class takes ~4 min under emulation, split over many tests. */
    private static final String TEST_TIMEOUT = System.getProperty("scratchvm.test.timeout", "5 m");

    private KvmTestRunner() {
    }

    public static void main(String[] args) {
        String tags = args.length > 0 ? args[0] : KvmTest.TAG;
        PrintStream out = System.out;
        String place = System.getProperty(PLACE, "testvm");
        out.printf("KVM tests (%s) on %s%n", tags, KvmPlatform.current().usable() ? KvmPlatform.current().flavour()
                : "no usable KVM: " + KvmPlatform.current().problem());
        Heartbeat heartbeat = Heartbeat.start(out);

        // A test VM that died part-way is started again by the build: go on where it stopped.
        Set<String> earlier = KvmTally.finishedClasses(place).keySet();
        if (!earlier.isEmpty()) {
            out.printf("going on after an earlier run here: %d test class(es) already have a result%n", earlier.size());
        }
        if (Boolean.getBoolean("scratchvm.test.vmmAotCache")) {
            // Each VMM process costs seconds to start under emulation; hundreds of them start.
            out.println("training an AOT cache for the VMM processes the tests start");
            heartbeat.doing("AOT training");
            out.println(VmmProcess.trainAotCache(Path.of(System.getProperty("java.io.tmpdir"),
                    "scratchvm-test-vmm-" + ProcessHandle.current().pid() + ".aot"), Duration.ofMinutes(3)));
        }
        if (runEach(tags, place, earlier, out, heartbeat) == 0 && earlier.isEmpty()) {
            out.println("no test matched " + tags);
            System.exit(2);
        }
        if (args.length > 1) {
            try {
                Files.writeString(KvmTally.file(place).resolveSibling(place + ".required-done"), tags + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            out.println("every class of " + tags + " has a result; now the others of " + args[1]);
            runEach(args[1], place, KvmTally.finishedClasses(place).keySet(), out, heartbeat);
        }
        List<String> failed = KvmTally.finishedClasses(place).entrySet().stream()
                .filter(e -> e.getValue().failed()).map(Map.Entry::getKey).toList();
        if (failed.isEmpty()) {
            boolean retried = KvmTally.finishedClasses(place).values().stream().anyMatch(r -> r.runs() > 1);
            if (retried) out.println("the classes that failed at first passed on the retry (reported as flaky, not hidden)");
            System.exit(0);
        }
        out.println("failed: " + String.join(", ", failed));
        System.exit(1);
    }

    /**
     * Runs the classes of {@code tags} but {@code except}, one at a time; a class that fails is
     * run once more at once (under emulation a JVM the test starts has been seen to die of
     * SIGILL in JIT-compiled code), so that the retry does not wait for a time that may not come.
     *
     * @return how many classes there were to run
     */
    private static int runEach(String tags, String place, Set<String> except, PrintStream out, Heartbeat heartbeat) {
        List<String> classes = new ArrayList<>();
        TestPlan plan = LauncherFactory.create().discover(request(tags, List.of(), except));
        for (TestIdentifier root : plan.getRoots()) {
            for (TestIdentifier child : plan.getChildren(root)) {
                if (child.getSource().orElse(null) instanceof ClassSource c) classes.add(c.getClassName());
            }
        }
        for (String c : classes) {
            run(request(tags, List.of(c), Set.of()), out, heartbeat);
            KvmTally.ClassResult r = KvmTally.finishedClasses(place).get(c);
            if (r != null && r.failed() && r.runs() == 1) {
                out.println("  " + c + " failed; running it once more to tell emulator flakiness from a bug");
                run(request(tags, List.of(c), Set.of()), out, heartbeat);
            }
        }
        return classes.size();
    }

    private static LauncherDiscoveryRequest request(String tags, List<String> classes, Set<String> except) {
        var builder = LauncherDiscoveryRequestBuilder.request()
                .filters(TagFilter.includeTags(tags), ClassNameFilter.includeClassNamePatterns(".*Test", ".*Properties"))
                // A guest that hangs under emulation must fail its test, not stall the whole run:
                // the test runs on its own thread, and the report shows where that thread was.
                .configurationParameter("junit.jupiter.execution.timeout.default", TEST_TIMEOUT)
                .configurationParameter("junit.jupiter.execution.timeout.thread.mode.default", "SEPARATE_THREAD");
        if (!except.isEmpty()) {
            builder.filters(ClassNameFilter.excludeClassNamePatterns(
                    except.stream().map(java.util.regex.Pattern::quote).toArray(String[]::new)));
        }
        if (classes.isEmpty()) {
            builder.selectors(DiscoverySelectors.selectPackage("dev.scratchvm"));
        } else {
            builder.selectors(classes.stream().map(DiscoverySelectors::selectClass).toList());
        }
        return builder.build();
    }

    private static Attempt run(LauncherDiscoveryRequest request, PrintStream out, Heartbeat heartbeat) {
        Attempt attempt = new Attempt(out, heartbeat);
        LauncherFactory.create().execute(request, attempt);
        return attempt;
    }

    /** Progress and failures of one launcher run. */
    private static final class Attempt implements TestExecutionListener {
        private final PrintStream out;
        private final AtomicInteger tests = new AtomicInteger();
        private final ConcurrentHashMap<String, long[]> classStats = new ConcurrentHashMap<>();
        private final List<String> pendingFailures = new ArrayList<>();

        private final Heartbeat heartbeat;

        Attempt(PrintStream out, Heartbeat heartbeat) {
            this.out = out;
            this.heartbeat = heartbeat;
        }

        @Override
        public void executionStarted(TestIdentifier id) {
            if (id.getSource().orElse(null) instanceof ClassSource c) {
                classStats.put(c.getClassName(), new long[]{System.nanoTime(), 0, 0});
                heartbeat.doing(c.getClassName());
                out.printf("  ...    %s%n", c.getClassName());
                out.flush();
            }
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            if (id.getSource().orElse(null) instanceof ClassSource c) {
                out.printf("  skipped %s: %s%n", c.getClassName(), reason);
            }
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            String cls = classOf(id);
            if (cls == null) return;
            boolean ok = result.getStatus() != TestExecutionResult.Status.FAILED;   // ABORTED: an assumption said "not here"
            long[] stats = classStats.computeIfAbsent(cls, k -> new long[]{System.nanoTime(), 0, 0});
            if (id.isTest()) {
                tests.incrementAndGet();
                stats[1]++;
            }
            if (!ok) {
                stats[2]++;
                pendingFailures.add("    FAILED " + id.getDisplayName() + ": " + result.getThrowable().map(KvmTestRunner::describe).orElse("(no cause)"));
            }
            if (id.getSource().orElse(null) instanceof ClassSource) {
                long secs = Duration.ofNanos(System.nanoTime() - stats[0]).toSeconds();
                out.printf("  %s %s: %d tests, %d failed, %d s%n", stats[2] == 0 ? "ok    " : "FAILED", cls, stats[1], stats[2], secs);
                pendingFailures.forEach(out::println);
                pendingFailures.clear();
                out.flush();
            }
        }

        private static String classOf(TestIdentifier id) {
            return switch (id.getSource().orElse(null)) {
                case ClassSource c -> c.getClassName();
                case MethodSource m -> m.getClassName();
                case null, default -> null;
            };
        }
    }

    /**
     * A line every minute while one thing runs long: the build watches the test VM's output and
     * takes a VM that stays silent for minutes as stalled (the emulator was seen to stall).
     */
    private static final class Heartbeat {
        private static final long EVERY_NANOS = Duration.ofSeconds(60).toNanos();
        private volatile String what = "starting";
        private volatile long since = System.nanoTime();

        static Heartbeat start(PrintStream out) {
            Heartbeat h = new Heartbeat();
            Thread.ofPlatform().daemon().name("heartbeat").start(() -> {
                try {
                    while (true) {
                        Thread.sleep(Duration.ofNanos(EVERY_NANOS));
                        long secs = Duration.ofNanos(System.nanoTime() - h.since).toSeconds();
                        if (secs >= 60) {
                            out.printf("  ..     still in %s (%d s)%n", h.what, secs);
                            out.flush();
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            return h;
        }

        void doing(String what) {
            this.what = what;
            this.since = System.nanoTime();
        }
    }

    private static String describe(Throwable t) {
        StringBuilder s = new StringBuilder(String.valueOf(t));
        StackTraceElement[] trace = t.getStackTrace();
        for (int i = 0; i < Math.min(6, trace.length); i++) s.append("\n        at ").append(trace[i]);
        return s.toString();
    }
}
