package dev.scratchvm.x86;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Dependencies point one way: {@code x86} needs no other ScratchVM package, {@code kvm}
 * needs {@code x86} but never {@code state}. Checked on the compiled classes, whose constant
 * pools name every class they refer to.
 */
class PackageDependencyTest {
    private static final Path CLASSES = Path.of("target/classes/dev/scratchvm");

    @Test
    void kvmDoesNotDependOnState() throws IOException {
        assertThat(referencesIn("kvm", "dev/scratchvm/state/")).isEmpty();
        assertThat(referencesIn("kvm", "dev/scratchvm/x86/")).isNotEmpty();
    }

    @Test
    void x86DependsOnNoOtherPackage() throws IOException {
        for (String other : List.of("sys", "kvm", "state", "image", "vmm", "linux", "memory", "boot")) {
            assertThat(referencesIn("x86", "dev/scratchvm/" + other + "/")).as("x86 → %s", other).isEmpty();
        }
    }

    /** The classes of {@code pkg} whose class file names something under {@code prefix}. */
    private static List<String> referencesIn(String pkg, String prefix) throws IOException {
        byte[] needle = prefix.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.list(CLASSES.resolve(pkg))) {
            List<Path> classes = files.filter(f -> f.toString().endsWith(".class")).toList();
            assertThat(classes).as("compiled classes of %s", pkg).isNotEmpty();
            return classes.stream().filter(f -> contains(read(f), needle)).map(f -> f.getFileName().toString()).toList();
        }
    }

    private static byte[] read(Path f) {
        try {
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return true;
        }
        return false;
    }
}
