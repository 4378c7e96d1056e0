package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmPlatform;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.TestFiles;
import dev.scratchvm.vmm.CpuFeatures;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An image saved on one KVM flavour restores on another: kvm_pvm, where SYSCALL stays in
 * ring 3, and SVM/VMX, where it enters ring 0, must leave the same architectural state at a
 * SAVE. Each run saves its cases under target/kvm-tests/images/FLAVOUR/ and restores every
 * case another flavour left there. The build runs this on the host, in the test VM, and on
 * the host again, so both directions are checked on a machine with kvm_pvm.
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
@Tag("cross-flavour")
class CrossFlavourTest {
    /** A guest saved mid-run, and what it must print once restored and run to its end. */
    enum Case {
        TLS_GLIBC("guest/tests/tls_save.c", GuestPrograms.Libc.GLIBC, "tls ok\n"),
        REGISTERS_MUSL("guest/tests/regs.c", GuestPrograms.Libc.MUSL, "regs ok\n"),
        VECTORS_GLIBC("guest/tests/avx_save.c", GuestPrograms.Libc.GLIBC, "save=vm\n"),
        LAB_MUSL("examples/lab3/app.c", GuestPrograms.Libc.MUSL, "");

        final Path source;
        final GuestPrograms.Libc libc;
        final String stdoutEnd;

        Case(String source, GuestPrograms.Libc libc, String stdoutEnd) {
            this.source = Path.of(source);
            this.libc = libc;
            this.stdoutEnd = stdoutEnd;
        }
    }

    private static Path images() {
        return Path.of(System.getProperty("scratchvm.test.tallyDir",
                GuestPrograms.repoRoot().resolve("target/kvm-tests").toString())).resolve("images");
    }

    private static String slug(String flavour) {
        return flavour.replaceAll("[^a-z0-9_]+", "-").replaceAll("-$", "");
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Case.class)
    void savesAnImageForTheOtherFlavours(Case c) throws Exception {
        Path dir = images().resolve(slug(KvmPlatform.current().flavour())).resolve(c.name());
        if (Files.exists(dir)) TestFiles.deleteTree(dir);
        Files.createDirectories(dir);
        Path binary = dir.resolve("prog");
        Files.copy(GuestPrograms.buildFile(c.source, c.libc), binary, StandardCopyOption.COPY_ATTRIBUTES);
        try (StreamFiles io = new StreamFiles(dir.resolve("stdout.before"));
             Machine m = InProcessVm.bootAndRunToSave(binary, dir, 16L << 20, io.stdio())) {
            InProcessVm.save(m, dir.resolve("vm.img"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Case.class)
    void restoresWhatAnotherFlavourSaved(Case c, @TempDir Path work) throws Exception {
        String here = slug(KvmPlatform.current().flavour());
        List<Path> saved;
        try (Stream<Path> flavours = Files.list(Files.createDirectories(images()))) {
            saved = flavours.filter(f -> !f.getFileName().toString().equals(here))
                    .map(f -> f.resolve(c.name())).filter(d -> Files.isRegularFile(d.resolve("vm.img"))).toList();
        }
        Assumptions.assumeFalse(saved.isEmpty(), "no image from another KVM flavour yet (the test VM saves them)");
        for (Path from : saved) {
            Path dir = Files.createDirectory(work.resolve(from.getParent().getFileName().toString()));
            copyCase(from, dir);
            try (ImageReader reader = ImageReader.open(dir.resolve("vm.img")); Kvm kvm = Kvm.open()) {
                var missing = CpuFeatures.missing(reader.state().vcpu().cpuid(), reader.state().vcpu().xcrs(),
                        kvm.supportedCpuid());
                if (!missing.isEmpty()) {
                    // A VM that uses CPU features this host lacks must be refused, cleanly.
                    assertThatRestoreIsRefused(dir, missing);
                    System.out.printf("%s from %s: refused, as it must be (this CPU lacks %s)%n", c, from, missing);
                    continue;
                }
            }
            try (StreamFiles io = new StreamFiles(dir.resolve("stdout.after"));
                 Machine m = InProcessVm.restore(dir.resolve("vm.img"), dir, ImageReader.Mode.COPY, io.stdio())) {
                Outcome end = m.run();
                String out = Files.readString(dir.resolve("stdout.before")) + Files.readString(dir.resolve("stdout.after"));
                assertThat(end).as("restored from %s; output:%n%s", from, out).isEqualTo(new Outcome.Exited(0));
                assertThat(out).as("restored from %s", from).endsWith(c.stdoutEnd);
                if (c == Case.LAB_MUSL) {
                    assertThat(Files.readString(dir.resolve(Guest.LAB_FILE))).isEqualTo(Guest.LAB_BOTH);
                }
                System.out.printf("%s from %s: restored and ran to its end on %s%n", c, from, KvmPlatform.current().flavour());
            }
        }
    }

    private static void assertThatRestoreIsRefused(Path dir, List<String> missing) {
        try (Machine ignored = InProcessVm.restore(dir.resolve("vm.img"), dir, ImageReader.Mode.COPY)) {
            throw new AssertionError("restored an image that needs " + missing);
        } catch (Machine.RestoreException e) {
            assertThat(e.getMessage()).contains("lacks features").contains(missing.getFirst());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void copyCase(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    /** The guest's stdout and stderr on a file, stdin on /dev/null: host fds this test owns. */
    private static final class StreamFiles implements AutoCloseable {
        private final int in, out;

        StreamFiles(Path stdout) {
            in = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            out = Libc.open(stdout.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644);
            if (in < 0 || out < 0) throw new IllegalStateException("cannot open the guest's stdio files");
        }

        Stdio stdio() {
            return new Stdio(in, out, out);
        }

        @Override
        public void close() {
            Libc.close(in);
            Libc.close(out);
        }
    }
}
