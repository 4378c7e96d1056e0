package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.ResourceLimit;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Resource limits, the VM's host and domain names and memfds in the STATE encoding. */
class ProcessIdentityStateTest {
    private static final MachineState SAMPLE = TestStates.sample(16 << 20);
    private static final long INFINITY = -1;

    @Test
    void limitsNamesAndAMemfdRoundTrip() throws Exception {
        MachineState state = with(List.of(new ResourceLimit(7, 20, 32), new ResourceLimit(4, 0, INFINITY)), "guest-one",
                "example.org", memfd("/memfd:buf", "hello".getBytes(StandardCharsets.US_ASCII)));
        MachineState decoded = StateCodec.decode(StateCodec.encode(state));
        assertThat(decoded).usingRecursiveComparison().isEqualTo(state);
        assertThat(decoded.kernel().resourceLimits()).containsExactly(new ResourceLimit(7, 20, 32), new ResourceLimit(4, 0, INFINITY));
        assertThat(decoded.kernel().hostname()).isEqualTo("guest-one");
        assertThat(decoded.kernel().files().getLast().kind()).isEqualTo(FileKind.MEMFD);
        assertThat(decoded.kernel().files().getLast().content()).asString(StandardCharsets.US_ASCII).isEqualTo("hello");
    }

    @Test
    void theDefaultsAreNotWrittenAndReadBackAsTheDefaults() throws Exception {
        byte[] plain = StateCodec.encode(SAMPLE);
        assertThat(StateCodec.encode(with(List.of(), KernelState.DEFAULT_HOSTNAME, KernelState.DEFAULT_DOMAINNAME, null)))
                .isEqualTo(plain);
        KernelState k = StateCodec.decode(plain).kernel();
        assertThat(k.resourceLimits()).isEmpty();
        assertThat(k.hostname()).isEqualTo("scratchvm");
        assertThat(k.domainname()).isEqualTo("(none)");
    }

    @Test
    void impossibleLimitsNamesAndMemfdsAreRefused() {
        assertThatThrownBy(() -> StateCodec.encode(with(List.of(new ResourceLimit(7, 33, 32)), "h", "d", null)))
                .hasMessageContaining("soft limit above the hard one");
        assertThatThrownBy(() -> StateCodec.encode(with(List.of(new ResourceLimit(7, INFINITY, 32)), "h", "d", null)))
                .as("RLIM_INFINITY compares as the largest value").hasMessageContaining("soft limit above the hard one");
        assertThatThrownBy(() -> StateCodec.encode(with(List.of(new ResourceLimit(16, 1, 1)), "h", "d", null)))
                .hasMessageContaining("is not a resource");
        assertThatThrownBy(() -> StateCodec.encode(with(List.of(new ResourceLimit(3, 1, 1), new ResourceLimit(3, 1, 1)), "h", "d", null)))
                .hasMessageContaining("given twice");
        assertThatThrownBy(() -> StateCodec.encode(with(List.of(), "x".repeat(65), "d", null)))
                .hasMessageContaining("longer than 64 bytes");
        assertThatThrownBy(() -> StateCodec.encode(with(List.of(), "a\0b", "d", null))).hasMessageContaining("NUL");
        assertThat(StateRules.check(with(List.of(), "h", "d", memfd("/etc/passwd", new byte[1]))))
                .as("a memfd is never opened by path").contains("does not start with /memfd:");
        assertThat(StateRules.check(with(List.of(), "h", "d", memfd("/memfd:x", new byte[1])))).isNull();
    }

    private static OpenFileState memfd(String path, byte[] content) {
        return new OpenFileState(100, FileKind.MEMFD, path, 2, 0, 3, FileFingerprint.NONE, content);
    }

    private static MachineState with(List<ResourceLimit> limits, String hostname, String domainname, OpenFileState extra) {
        KernelState k = SAMPLE.kernel();
        List<OpenFileState> files = new ArrayList<>(k.files());
        if (extra != null) files.add(extra);
        return new MachineState(SAMPLE.vcpu(), SAMPLE.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(),
                k.mmapTop(), k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), files, k.fds(), k.signalActions(),
                k.umask(), k.restart(), k.processName(), k.dumpable(), limits, hostname, domainname));
    }
}
