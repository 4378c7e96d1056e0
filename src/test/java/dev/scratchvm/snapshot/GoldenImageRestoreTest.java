package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.testing.GoldenImages;
import dev.scratchvm.testing.GoldenImages.Golden;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.vmm.CpuFeatures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Images that released versions wrote restore in a new VMM process and run to the end their
 * program had then. An image carries the CPUID its guest was given; a host that cannot give
 * it (see the README next to the images) skips the run with the reason, never the decoding
 * (GoldenImageTest).
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class GoldenImageRestoreTest {
    static final List<Golden> GOLDEN = GoldenImages.ALL;

    private static final int XSAVE = 1 << 26;

    @ParameterizedTest(name = "{0}")
    @FieldSource("GOLDEN")
    void restoresAndRunsToItsEnd(Golden g, @TempDir Path work) throws Exception {
        Path dir = Files.createDirectory(work.resolve(g.dir()));
        try (var files = Files.list(g.directory())) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
        }
        assumeThisHostCanRun(dir.resolve(g.image()), g);

        VmmProcess.Result r = VmmProcess.run(dir, "restore", "--trace=files", g.image());
        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.stderrLines()).as("%s", r).contains("RESTORE OPERATION");
        switch (g.dir()) {
            case "lab" -> {
                assertThat(r.stderrLines()).as("%s", r).contains("CLOSE 3 - return 0", "EXIT 0")
                        .anyMatch(l -> l.matches("WRITE 3 \\p{XDigit}+ 12 - return 12"));
                assertThat(Files.readString(dir.resolve("ay_caramba"))).isEqualTo("Hello World !!!\nBye Bye !!!\n");
            }
            case "signals" -> assertThat(r.stdout()).isEqualTo("""
                    SIGUSR1 ignored
                    SIGUSR2 handler kept, SA_RESTART 1, masks SIGINT 1
                    SIGPIPE ignored
                    survived SIGUSR1
                    """);
            default -> throw new AssertionError("no expected output for " + g);
        }
    }

    /** Skips, naming what is missing, when this host's KVM cannot run the guest the image holds. */
    private static void assumeThisHostCanRun(Path image, Golden g) throws Exception {
        try (ImageReader reader = ImageReader.open(image); Kvm kvm = Kvm.open()) {
            var host = kvm.supportedCpuid();
            List<String> missing = CpuFeatures.missing(reader.state().vcpu().cpuid(), reader.state().vcpu().xcrs(), host);
            Assumptions.assumeTrue(missing.isEmpty(), () -> g + ": this host's KVM lacks " + missing);
            boolean hostXsave = host.stream().anyMatch(e -> e.function() == 1 && (e.ecx() & XSAVE) != 0);
            Assumptions.assumeTrue(hostXsave == g.xsave(), () -> g + ": this host's KVM "
                    + (hostXsave ? "reports XSAVE and refuses CR4.OSXSAVE for a guest without it; the -xsave variant runs here"
                    : "reports no XSAVE; the variant without it runs here"));
        }
    }
}
