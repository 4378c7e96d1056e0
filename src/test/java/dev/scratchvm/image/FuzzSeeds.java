package dev.scratchvm.image;

import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.testing.FuzzChecks;
import dev.scratchvm.testing.TestFiles;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes the seed inputs of {@link ImageFuzzTest} and {@link StateRulesFuzzTest} into
 * {@code src/test/resources/dev/scratchvm/image/*FuzzTestInputs/}, made by the real encoders
 * ({@link ImageWriter}, {@link StateCodec}) from the test states. Not part of the build (its
 * name matches no test pattern); run it after a format change, and commit what changed:
 * <pre>
 * SCRATCHVM_TESTVM=off mvn test -Dtest='FuzzSeeds' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * (that also runs {@code dev.scratchvm.migration.FuzzSeeds}). Inputs named {@code crash-*}
 * are inputs that once crashed a target: they stay, as regression tests.
 *
 * <p>To fuzz one target for real, for 10 minutes (one target per run; libFuzzer's corpus
 * grows in {@code .cifuzz-corpus/}, a crash is written to the target's inputs directory):
 * <pre>
 * SCRATCHVM_TESTVM=off mvn test -Dtest='ImageFuzzTest#imageFileWithChecksumsFixed' -Dfuzz=true -Dfuzz.seconds=600
 * </pre>
 */
class FuzzSeeds {
    @Test
    void write() throws Exception {
        Map<String, byte[]> images = images();
        for (var e : images.entrySet()) {
            if (!e.getKey().equals("sample-image")) FuzzChecks.writeSeed(ImageFuzzTest.class, "imageFile", e.getKey(), e.getValue());
            FuzzChecks.writeSeed(ImageFuzzTest.class, "imageFileWithChecksumsFixed", e.getKey(), e.getValue());
        }
        Map<String, MachineState> states = new LinkedHashMap<>();
        states.put("sample-state", TestStates.sample(SampleImages.SIZE));
        states.put("small-state", small(TestStates.sample(16 << 20)));
        for (var e : states.entrySet()) {
            byte[] encoded = StateCodec.encode(e.getValue());
            FuzzChecks.writeSeed(ImageFuzzTest.class, "stateSection", e.getKey(), encoded);
            FuzzChecks.writeSeed(StateRulesFuzzTest.class, "decodedState", e.getKey(), encoded);
        }
        // States the codec takes and the rules refuse, with edge values everywhere.
        for (long seed : new long[]{1, 2}) {
            FuzzChecks.writeSeed(ImageFuzzTest.class, "stateSection", "random-state-" + seed,
                    StateCodec.encode(TestStates.random(seed)));
        }
    }

    /** Sound images: the sample (several runs), one with a single stored page, one with none. */
    static Map<String, byte[]> images() throws Exception {
        Path dir = Files.createTempDirectory("fuzz-seeds");
        try {
            Map<String, byte[]> out = new LinkedHashMap<>();
            out.put("sample-image", SampleImages.write(dir.resolve("sample.img")));
            MachineState small = small(TestStates.sample(SampleImages.SIZE));
            try (GuestMemory guest = new GuestMemory(SampleImages.SIZE)) {
                ImageWriter.write(dir.resolve("empty.img"), small, guest.segment, PageFilter.ALL);
                out.put("no-pages-image", Files.readAllBytes(dir.resolve("empty.img")));
                guest.fillPage(600, 7);
                ImageWriter.write(dir.resolve("one.img"), small, guest.segment, PageFilter.ALL);
                out.put("one-page-image", Files.readAllBytes(dir.resolve("one.img")));
            }
            return out;
        } finally {
            TestFiles.deleteTree(dir);
        }
    }

    /** {@code state} with a short XSAVE area and two CPUID leaves: small inputs fuzz faster. */
    static MachineState small(MachineState state) {
        VcpuState v = state.vcpu();
        VcpuState vcpu = new VcpuState(v.mpState(), v.regs(), v.sregs(), new byte[64], v.xcrs(), v.debug(), v.msrs(),
                v.events(), v.cpuid().subList(0, 2), v.tscKhz());
        return new MachineState(vcpu, new MemoryState(state.memory().size(), 4096), state.kernel());
    }
}
