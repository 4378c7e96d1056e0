package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;
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
 * The signal state (blocked mask, pending signals, alternate stack, timers) goes into an
 * image and comes back value for value; an image that holds it is version 1.2, which older
 * readers refuse rather than restore a VM whose alarm would never fire, and one without it
 * keeps the version it had.
 */
class SignalStateImageTest {
    private static final long SIZE = 8 << 20;
    private static final SignalState SIGNALS = new SignalState((1L << 9) | (1L << 13),
            List.of(new PendingSignal(10, -6, 4242, 1000, 0, 0), new PendingSignal(34, -2, 0, 0, 3, 77),
                    new PendingSignal(34, -1, 4242, 1000, 0, 5)),
            new AltStack(0x300000, 65536, 1 << 31),
            List.of(new TimerState(TimerState.ITIMER_REAL, 1, 14, 0, 1_234_567_890L, 0, 0),
                    new TimerState(0, 0, 34, 77, 0, 0, 0), new TimerState(3, 1, 34, 77, 5_000_000L, 10_000_000L, 4)));

    @TempDir
    Path dir;

    private static MachineState withSignals(SignalState signals) {
        MachineState s = TestStates.sample(SIZE);
        KernelState k = s.kernel();
        return new MachineState(s.vcpu(), s.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(), k.mmapTop(),
                k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), k.files(), k.fds(),
                List.of(new SignalAction(14, 0x201000, 0x14000004, 0x201100, 1L << 9)), k.umask(), k.restart(),
                k.processName(), k.dumpable(), signals));
    }

    @Test
    void signal_state_round_trips_through_an_image_as_version_1_2() throws Exception {
        MachineState state = withSignals(SIGNALS);
        assertThat(StateRules.check(state)).isNull();
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(600, 3);
            ImageWriter.write(image, state, guest.segment, PageFilter.ALL);
        }
        assertThat(minor(image)).isEqualTo(2);
        try (ImageReader reader = ImageReader.open(image)) {
            assertThat(reader.state()).usingRecursiveComparison().isEqualTo(state);
            assertThat(reader.state().kernel().signals().timers().get(0).remainingNanos()).isEqualTo(1_234_567_890L);
        }
    }

    @Test
    void without_signal_state_a_full_image_stays_version_1_0() throws Exception {
        Path image = dir.resolve("plain.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            ImageWriter.write(image, withSignals(SignalState.NONE), guest.segment, PageFilter.ALL);
        }
        assertThat(minor(image)).isZero();
        try (ImageReader reader = ImageReader.open(image)) {
            assertThat(reader.state().kernel().signals()).isEqualTo(SignalState.NONE);
        }
    }

    @Test
    void the_codec_reads_back_exactly_what_it_wrote() throws Exception {
        MachineState state = withSignals(SIGNALS);
        assertThat(StateCodec.decode(StateCodec.encode(state))).usingRecursiveComparison().isEqualTo(state);
    }

    private static int minor(Path image) throws Exception {
        byte[] header = Files.readAllBytes(image);
        return Short.toUnsignedInt(ByteBuffer.wrap(header, 10, 2).order(ByteOrder.LITTLE_ENDIAN).getShort());
    }
}
