package dev.scratchvm.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Marks a test class that runs guests under real KVM. Such tests are counted per KVM flavour
 * ({@link KvmTally}). Where /dev/kvm does not exist they do not run here but in the test VM
 * (scripts/testvm), and the build says so; where it exists but cannot be opened they fail, so
 * a broken set-up never passes as a quietly skipped suite.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag(KvmTest.TAG)
@ExtendWith(KvmTest.Availability.class)
public @interface KvmTest {
    String TAG = "kvm";
    /** The subset that also runs in the test VM on machines with kvm_pvm: what differs on hardware KVM. */
    String HARDWARE_PATH = "hardware-path";
    /**
     * The benchmark's smoke test: not run in the test VM, where its timings mean nothing and its
     * JVM was seen to die of SIGILL in JIT-compiled code under QEMU's emulation (the build says so).
     */
    String BENCHMARK = "benchmark";
    /** Tests that assert wall-clock bounds (e.g. "within 1 s"): meaningless under emulation, so not run in the test VM. */
    String TIMING = "timing";

    /**
     * Runs, skips (no /dev/kvm: the test VM runs it) or fails (a /dev/kvm that cannot be used).
     * For jqwik properties, tag the class {@code @Tag(KvmTest.TAG)} and add this as a lifecycle hook.
     */
    final class Availability implements ExecutionCondition, SkipExecutionHook {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            String skip = reasonToSkip(context.getDisplayName());
            return skip == null ? ConditionEvaluationResult.enabled("KVM: " + KvmPlatform.current().flavour())
                    : ConditionEvaluationResult.disabled(skip);
        }

        @Override
        public SkipResult shouldBeSkipped(LifecycleContext context) {
            String skip = reasonToSkip(context.label());
            return skip == null ? SkipResult.doNotSkip() : SkipResult.skip(skip);
        }

        private static String reasonToSkip(String what) {
            KvmPlatform kvm = KvmPlatform.current();
            if (kvm.usable()) return null;
            if (kvm.absent() && !KvmPlatform.inTestVm()) return "no /dev/kvm here: KVM tests run in the test VM instead";
            throw new AssertionError("KVM is required for " + what + ": " + kvm.problem());
        }
    }
}
