package dev.scratchvm.image;

import com.google.protobuf.ByteString;
import dev.scratchvm.image.schema.StateProto;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.SignalFdState;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A deleted file saved with its bytes (kind 12), a signalfd with its mask (kind 13 and
 * Kernel.signal_fds) and setitimer's CPU timers (ids -2, -3): as a guest leaves them they
 * pass the rules and come back from the encoding value for value; hostile values are refused
 * with one line naming the field, on the records and on the wire.
 */
class GhostAndSignalFdStateTest {
    private static final int O_RDONLY = 0, O_RDWR = 2, O_NONBLOCK = 04000, O_DIRECTORY = 0200000, O_PATH = 010000000;
    private static final int GHOST = 10, SIGNALFD = 11;
    private static final long USR1_USR2 = (1L << 9) | (1L << 11);
    private static final MachineState BASE = TestStates.sample(16L << 20);
    private static final MachineState GOOD = state(ghost(O_RDWR, "/tmp/gone.dat", new byte[]{'h', 'i', '\n'}),
            signalFd(O_RDWR | O_NONBLOCK), List.of(new SignalFdState(SIGNALFD, USR1_USR2)),
            List.of(new TimerState(TimerState.ITIMER_PROF, TimerState.CPU_CLOCK, 27, 0, 5_000_000, 1_000_000, 0),
                    new TimerState(TimerState.ITIMER_VIRTUAL, TimerState.CPU_CLOCK, 26, 0, 7_000_000, 0, 0)), List.of());

    @Test
    void whatAGuestLeavesPassesAndRoundTripsExactly() throws Exception {
        assertThat(StateRules.check(GOOD)).isNull();
        MachineState decoded = StateCodec.decode(StateCodec.encode(GOOD));
        assertThat(decoded.kernel()).isEqualTo(GOOD.kernel());
        OpenFileState ghost = decoded.kernel().files().stream().filter(f -> f.kind() == FileKind.GHOST).findFirst().orElseThrow();
        assertThat(ghost.content()).containsExactly('h', 'i', '\n');
        assertThat(decoded.kernel().signalFds()).containsExactly(new SignalFdState(SIGNALFD, USR1_USR2));
    }

    @Test
    void aSharedMappingOfADeletedFilePasses() {
        long start = BASE.kernel().mmapBase();
        MachineState mapped = state(ghost(O_RDWR, "/gone", new byte[8192]), signalFd(O_RDWR), List.of(new SignalFdState(SIGNALFD, 0)),
                List.of(), List.of(new Mapping(start, 8192, 3, GHOST, 0, true)));
        assertThat(StateRules.check(mapped)).isNull();
    }

    @Test
    void hostileRecordsAreRefusedNamingTheirField() {
        Map<String, MachineState> cases = new LinkedHashMap<>();
        String ghostField = "kernel.files[id " + GHOST + "]";
        cases.put(ghostField + ".flags", state(ghost(O_PATH, "/gone", new byte[0]), signalFd(O_RDWR),
                List.of(new SignalFdState(SIGNALFD, 0)), List.of(), List.of()));
        cases.put(ghostField + ".flags ", state(ghost(O_RDONLY | O_DIRECTORY, "/gone", new byte[0]), signalFd(O_RDWR),
                List.of(new SignalFdState(SIGNALFD, 0)), List.of(), List.of()));
        cases.put(ghostField + ".path", state(ghost(O_RDWR, "../../etc/shadow", new byte[0]), signalFd(O_RDWR),
                List.of(new SignalFdState(SIGNALFD, 0)), List.of(), List.of()));
        cases.put("kernel.files[id " + SIGNALFD + "]: a SIGNALFD with no record", state(ghost(O_RDWR, "/gone", new byte[0]),
                signalFd(O_RDWR), List.of(), List.of(), List.of()));
        cases.put("kernel.signal_fds[0].mask", state(ghost(O_RDWR, "/gone", new byte[0]), signalFd(O_RDWR),
                List.of(new SignalFdState(SIGNALFD, 1L << 8)), List.of(), List.of()));
        cases.put("kernel.signal_fds[0]: open file " + SIGNALFD, state(ghost(O_RDWR, "/gone", new byte[0]), signalFd(O_RDONLY),
                List.of(new SignalFdState(SIGNALFD, 0)), List.of(), List.of()));
        cases.put("kernel.signal_fds[0].file", state(ghost(O_RDWR, "/gone", new byte[0]), signalFd(O_RDWR),
                List.of(new SignalFdState(GHOST, 0)), List.of(), List.of()));
        cases.put("kernel.signal_fds[1].file", state(ghost(O_RDWR, "/gone", new byte[0]), signalFd(O_RDWR),
                List.of(new SignalFdState(SIGNALFD, 0), new SignalFdState(SIGNALFD, 1)), List.of(), List.of()));
        cases.put("kernel.files[id " + SIGNALFD + "].path", replace(GOOD, f -> f.id() == SIGNALFD
                ? new OpenFileState(SIGNALFD, FileKind.SIGNALFD, "/x", O_RDWR, 0, 0, FileFingerprint.NONE) : f));
        cases.put("kernel.timers[-2]", state(ghost(O_RDWR, "/gone", new byte[0]), signalFd(O_RDWR), List.of(new SignalFdState(SIGNALFD, 0)),
                List.of(new TimerState(TimerState.ITIMER_VIRTUAL, 1, 26, 0, 1, 0, 0)), List.of()));
        cases.put("kernel.timers[-3]", state(ghost(O_RDWR, "/gone", new byte[0]), signalFd(O_RDWR), List.of(new SignalFdState(SIGNALFD, 0)),
                List.of(new TimerState(TimerState.ITIMER_PROF, TimerState.CPU_CLOCK, 26, 0, 1, 0, 0)), List.of()));
        cases.put("kernel.files[id 3].content", replace(GOOD, f -> f.kind() == FileKind.REGULAR
                ? new OpenFileState(f.id(), f.kind(), f.path(), f.flags(), f.mode(), f.offset(), f.fingerprint(), List.of(), new byte[]{1})
                : f));
        for (Map.Entry<String, MachineState> c : cases.entrySet()) {
            assertThat(StateRules.check(c.getValue())).as(c.getKey()).isNotNull().contains(c.getKey().strip()).doesNotContain("\n");
        }
    }

    @Test
    void aDeletedFileOverTheContentLimitIsRefusedOnTheWire() {
        StateProto.State.Builder b = wire(GOOD);
        StateProto.File.Builder ghost = b.getKernelBuilder().getFilesBuilderList().stream()
                .filter(f -> f.getKind() == 12).findFirst().orElseThrow();
        ghost.setContent(ByteString.copyFrom(new byte[(1 << 20) + 1]));
        assertThatThrownBy(() -> StateCodec.decode(b.build().toByteArray())).isInstanceOf(ImageException.class)
                .hasMessageContaining("(content) is 1048577 bytes, limit is 1048576").hasMessageNotContaining("\n");
    }

    @Test
    void moreSignalFdRecordsThanTheLimitAreRefusedOnTheWire() {
        StateProto.State.Builder b = wire(GOOD);
        while (b.getKernelBuilder().getSignalFdsCount() <= 1024) b.getKernelBuilder().addSignalFds(b.getKernelBuilder().getSignalFds(0));
        assertThatThrownBy(() -> StateCodec.decode(b.build().toByteArray())).isInstanceOf(ImageException.class)
                .hasMessageContaining("(signal_fds) has more than 1024 entries");
    }

    private static OpenFileState ghost(int flags, String path, byte[] content) {
        return new OpenFileState(GHOST, FileKind.GHOST, path, flags, 0640, Math.min(2, content.length), FileFingerprint.NONE,
                List.of(), content);
    }

    private static OpenFileState signalFd(int flags) {
        return new OpenFileState(SIGNALFD, FileKind.SIGNALFD, "", flags, 0, 0, FileFingerprint.NONE);
    }

    /** BASE plus the two files on fds 10 and 11, the signalfd records, the timers and extra mappings. */
    private static MachineState state(OpenFileState ghost, OpenFileState signalFd, List<SignalFdState> signalFds,
                                      List<TimerState> timers, List<Mapping> extraMappings) {
        KernelState x = BASE.kernel();
        List<OpenFileState> files = new ArrayList<>(x.files());
        files.add(ghost);
        files.add(signalFd);
        List<FdState> fds = new ArrayList<>(x.fds());
        fds.add(new FdState(10, GHOST, false));
        fds.add(new FdState(11, SIGNALFD, true));
        List<Mapping> mappings = new ArrayList<>(x.mappings());
        mappings.addAll(extraMappings);
        SignalState s = new SignalState(USR1_USR2, List.of(), null, timers);
        return new MachineState(BASE.vcpu(), BASE.memory(), new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(),
                mappings, x.cwd(), x.clearChildTid(), x.robustList(), files, fds, x.signalActions(), x.umask(), x.restart(),
                x.processName(), x.dumpable(), s, x.resourceLimits(), x.hostname(), x.domainname(), x.pipes(), x.eventFds(),
                x.timerFds(), x.epolls(), signalFds));
    }

    private static MachineState replace(MachineState m, UnaryOperator<OpenFileState> change) {
        KernelState x = m.kernel();
        List<OpenFileState> files = x.files().stream().map(change).toList();
        return new MachineState(m.vcpu(), m.memory(), new KernelState(x.brkStart(), x.brk(), x.mmapBase(), x.mmapTop(),
                x.mappings(), x.cwd(), x.clearChildTid(), x.robustList(), files, x.fds(), x.signalActions(), x.umask(), x.restart(),
                x.processName(), x.dumpable(), x.signals(), x.resourceLimits(), x.hostname(), x.domainname(), x.pipes(), x.eventFds(),
                x.timerFds(), x.epolls(), x.signalFds()));
    }

    private static StateProto.State.Builder wire(MachineState state) {
        try {
            return StateProto.State.parseFrom(StateCodec.encode(state)).toBuilder();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
