package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An image declares the lowest format version that holds everything in it, so that a reader of
 * an older version refuses it ("newer than this ScratchVM supports") instead of restoring the
 * VM without state it cannot see.
 */
class FormatVersionTest {
    private static final long SIZE = 8 << 20;

    @TempDir
    Path dir;

    @Test
    void a_vm_that_uses_nothing_new_is_written_as_1_0_though_its_umask_is_there() throws Exception {
        assertThat(minorOf(write(TestStates.sample(SIZE)))).isZero();
    }

    @Test
    void a_changed_umask_makes_it_1_1_and_it_reads_back() throws Exception {
        Path image = write(with(TestStates.sample(SIZE), 077, KernelState.DEFAULT_HOSTNAME));
        assertThat(minorOf(image)).isEqualTo(1);
        try (ImageReader r = ImageReader.open(image)) {
            assertThat(r.state().kernel().umask()).isEqualTo(077);
        }
    }

    @Test
    void a_hostname_of_its_own_makes_it_1_2() throws Exception {
        Path image = write(with(TestStates.sample(SIZE), KernelState.DEFAULT_UMASK, "builder"));
        assertThat(minorOf(image)).isEqualTo(2);
        try (ImageReader r = ImageReader.open(image)) {
            assertThat(r.state().kernel().hostname()).isEqualTo("builder");
        }
    }

    private Path write(MachineState state) throws Exception {
        Path image = dir.resolve("vm-" + System.nanoTime() + ".img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(600, 3);
            ImageWriter.write(image, state, guest.segment, PageFilter.ALL);
        }
        return image;
    }

    private static MachineState with(MachineState s, int umask, String hostname) {
        KernelState k = s.kernel();
        return new MachineState(s.vcpu(), s.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(), k.mmapTop(),
                k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), k.files(), k.fds(), k.signalActions(), umask,
                k.restart(), k.processName(), k.dumpable(), List.of(), hostname, KernelState.DEFAULT_DOMAINNAME));
    }

    private static int minorOf(Path image) throws Exception {
        return Short.toUnsignedInt(ByteBuffer.wrap(Files.readAllBytes(image), 10, 2).order(ByteOrder.LITTLE_ENDIAN).getShort());
    }
}
