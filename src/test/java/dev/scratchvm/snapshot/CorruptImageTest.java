package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.snapshot.Guest.FileState;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.ImageLayout;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static dev.scratchvm.snapshot.Guest.LAB_BOTH;
import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An image that is damaged, cut short, of another version, or not an image at all is refused
 * by {@code scratchvm restore} with one line, before anything runs: the program's file is
 * not touched (content and mtime), and "RESTORE OPERATION" is never printed.
 */
@KvmTest
class CorruptImageTest {
    @TempDir
    static Path dir;
    private static byte[] good;
    private static ImageLayout layout;
    private static FileState labFile;
    private static final AtomicInteger cases = new AtomicInteger();

    /** The lab program, saved after its first write; every case below damages a copy of its image. */
    @BeforeAll
    static void saveTheLabProgram() throws IOException {
        String app = Guest.installLabApp(Libc.MUSL, dir);
        Steps.runUntilSaved(dir, "vm.img", app);
        good = Files.readAllBytes(dir.resolve("vm.img"));
        layout = ImageLayout.of(good);
        labFile = FileState.of(dir.resolve(LAB_FILE));
    }

    /** How to make a bad image: given the good bytes and the directory, returns the file name to restore. */
    @FunctionalInterface
    interface BadImage {
        String make(Path dir) throws IOException;
    }

    static Stream<Arguments> badImages() {
        List<Arguments> all = new ArrayList<>();
        // one byte changed in every part of the file
        all.add(flip("header: magic", 0));
        all.add(flip("header: file length", 24));
        all.add(flip("header: STATE section length", 32 + 16));
        all.add(flip("header: reserved bytes", 1000));
        all.add(flip("header: checksum", 4092));
        all.add(flip("state: first byte", layout.stateOffset()));
        all.add(flip("state: middle", layout.stateOffset() + layout.stateLength() / 2));
        all.add(flip("state: last byte", layout.paddingOffset() - 1));
        if (layout.paddingOffset() < layout.memoryOffset()) all.add(flip("padding after the state", layout.paddingOffset()));
        all.add(flip("memory: first byte", layout.memoryOffset()));
        all.add(flip("memory: middle", layout.memoryOffset() + layout.memoryLength() / 2));
        all.add(flip("memory: last byte", layout.pageMapOffset() - 1));
        all.add(flip("page map: first byte", layout.pageMapOffset()));
        all.add(flip("page map: last byte", good.length - 1));
        // cut short anywhere, or one byte too long
        for (long length : new long[] {1, 8, 100, 4095, 4096, layout.stateOffset() + layout.stateLength() / 2,
                layout.memoryOffset(), layout.memoryOffset() + layout.memoryLength() / 2, good.length - 1}) {
            all.add(bytes("truncated to " + length + " bytes", Arrays.copyOf(good, (int) length)));
        }
        all.add(bytes("one byte appended", Arrays.copyOf(good, good.length + 1)));
        // other versions of the format
        all.add(bytes("major version 2", withU16(8, 2)));
        all.add(bytes("major version 0", withU16(8, 0)));
        all.add(bytes("minor version 1", withU16(10, 1)));
        // not an image at all
        all.add(Arguments.of("the program itself", (BadImage) d -> "app"));
        all.add(bytes("an empty file", new byte[0]));
        all.add(bytes("a text file", "not an image\n".getBytes()));
        all.add(Arguments.of("a missing file", (BadImage) d -> "no-such.img"));
        all.add(Arguments.of("a directory", (BadImage) d -> Files.createDirectory(d.resolve("dir.img")).getFileName().toString()));
        return all.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badImages")
    void isRefusedWithOneLineAndTheProgramsFileUntouched(String what, BadImage bad) throws IOException {
        String image = bad.make(dir);

        Result r = Steps.restoreRefused(dir, image);

        assertThat(r.stderr()).as("the message names the file").contains(image);
        labFile.assertUnchanged(dir.resolve(LAB_FILE));
    }

    @Test
    void theUndamagedImageStillRestores(@TempDir Path copy) throws IOException {
        // proves the refusals above are the damage's doing
        Files.copy(dir.resolve("app"), copy.resolve("app"));
        Files.copy(dir.resolve(LAB_FILE), copy.resolve(LAB_FILE), StandardCopyOption.COPY_ATTRIBUTES);
        Files.write(copy.resolve("vm.img"), good);

        Result r = Steps.restore(copy, "vm.img");

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(Guest.read(copy.resolve(LAB_FILE))).isEqualTo(LAB_BOTH);
    }

    private static Arguments flip(String what, long position) {
        byte[] bad = good.clone();
        bad[(int) position] ^= (byte) 0x5a;
        return bytes(what + " (byte " + position + ")", bad);
    }

    private static byte[] withU16(int offset, int value) {
        byte[] bad = good.clone();
        bad[offset] = (byte) value;
        bad[offset + 1] = (byte) (value >> 8);
        return bad;
    }

    private static Arguments bytes(String what, byte[] content) {
        return Arguments.of(what, (BadImage) d -> {
            String name = "bad-" + cases.incrementAndGet() + ".img";
            Files.write(d.resolve(name), content);
            return name;
        });
    }
}
