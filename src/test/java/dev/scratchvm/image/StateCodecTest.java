package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.LockOwner;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.CpuidEntry;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@DisplayName("StateCodec")
class StateCodecTest {
    private static final MachineState SAMPLE = TestStates.sample(16 << 20);

    @Test
    void a_realistic_state_round_trips_field_for_field() throws Exception {
        MachineState decoded = StateCodec.decode(StateCodec.encode(SAMPLE));
        assertThat(decoded).usingRecursiveComparison().isEqualTo(SAMPLE);
        assertThat(decoded.vcpu().xsave()).isEqualTo(SAMPLE.vcpu().xsave());
    }

    @Test
    void encoding_is_deterministic() {
        assertThat(StateCodec.encode(SAMPLE)).isEqualTo(StateCodec.encode(SAMPLE));
    }

    @Test
    void fields_with_unknown_tags_are_skipped_so_newer_minor_versions_can_add_fields() throws Exception {
        byte[] known = StateCodec.encode(SAMPLE);
        byte[] extra = new TlvWriter().i64(99, 42).int32(100, -7).bytes(101, new byte[]{1, 2, 3}).toByteArray();
        byte[] both = Arrays.copyOf(known, known.length + extra.length);
        System.arraycopy(extra, 0, both, known.length, extra.length);
        assertThat(StateCodec.decode(both)).usingRecursiveComparison().isEqualTo(SAMPLE);
    }

    @Test
    void a_missing_required_field_is_named() {
        byte[] onlyMemory = new TlvWriter().message(2, new TlvWriter().i64(1, 4096).int32(2, 4096)).toByteArray();
        assertThatThrownBy(() -> StateCodec.decode(onlyMemory))
                .isInstanceOf(ImageException.class)
                .hasMessage("state is corrupt: state: missing required field 1 (vcpu)");
    }

    @Test
    void a_length_running_past_the_end_is_reported_with_both_numbers() {
        byte[] bytes = {(byte) ((3 << 3) | 2), (byte) 0xbf, (byte) 0x84, 0x3d, 1, 2, 3};   // length 999999
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .isInstanceOf(ImageException.class)
                .hasMessage("state is corrupt: state: field 3 length 999999 exceeds remaining 3 bytes");
    }

    @Test
    void a_known_field_with_the_wrong_wire_type_is_rejected() {
        byte[] bytes = new TlvWriter().i64(2, 7).toByteArray();
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessageContaining("field 2 (memory) has wire type 1, expected 2");
    }

    @Test
    void a_singular_field_given_twice_is_rejected() {
        TlvWriter mem = new TlvWriter().i64(1, 4096).i64(1, 8192).int32(2, 4096);
        byte[] bytes = new TlvWriter().message(2, mem).toByteArray();
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessageContaining("state.memory: field 1 (size) appears more than once");
    }

    @Test
    void an_overlong_varint_is_rejected() {
        byte[] bytes = new byte[12];
        Arrays.fill(bytes, (byte) 0x80);
        assertThatThrownBy(() -> StateCodec.decode(bytes)).isInstanceOf(ImageException.class)
                .hasMessageContaining("varint");
    }

    @Test
    void memory_larger_than_64_GiB_is_refused_on_both_sides() {
        byte[] bytes = withMemory(65L << 30);
        assertThatThrownBy(() -> StateCodec.decode(bytes)).isInstanceOf(ImageException.class)
                .hasMessageContaining("memory size 69793218560");
    }

    @Test
    void more_cpuid_entries_than_the_limit_are_refused() {
        List<CpuidEntry> many = Collections.nCopies(StateLimits.MAX_CPUID_ENTRIES + 1, new CpuidEntry(0, 0, 0, 0, 0, 0, 0));
        MachineState tooMany = withVcpuCpuid(many);
        assertThatThrownBy(() -> StateCodec.encode(tooMany)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4097 CPUID entries exceed the limit of 4096");
        // A hand-made encoding with too many entries fails while parsing, before building anything.
        TlvWriter vcpu = new TlvWriter();
        for (int i = 0; i <= StateLimits.MAX_CPUID_ENTRIES; i++) vcpu.message(9, new TlvWriter().int32(1, i));
        byte[] bytes = new TlvWriter().message(2, new TlvWriter().i64(1, 4096).int32(2, 4096)).message(1, vcpu)
                .toByteArray();
        assertThatThrownBy(() -> StateCodec.decode(bytes))
                .hasMessage("state is corrupt: state.vcpu: field 9 (cpuid) has more than 4096 entries");
    }

    @Test
    void the_largest_states_within_every_limit_still_round_trip() throws Exception {
        List<CpuidEntry> cpuid = new ArrayList<>();
        for (int i = 0; i < StateLimits.MAX_CPUID_ENTRIES; i++) cpuid.add(new CpuidEntry(i, -i, i, i, i, i, i));
        MachineState big = withVcpuCpuid(cpuid);
        assertThat(StateCodec.decode(StateCodec.encode(big))).usingRecursiveComparison().isEqualTo(big);
    }

    @Test
    void paths_longer_than_4096_bytes_are_refused() {
        KernelState k = SAMPLE.kernel();
        MachineState longCwd = new MachineState(SAMPLE.vcpu(), SAMPLE.memory(), new KernelState(k.brkStart(), k.brk(),
                k.mmapBase(), k.mmapTop(), k.mappings(), "/" + "é".repeat(2048), k.clearChildTid(), k.robustList(),
                k.files(), k.fds()));
        assertThatThrownBy(() -> StateCodec.encode(longCwd)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cwd is 4097 bytes, limit is 4096");
    }

    @Test
    void strings_must_be_valid_utf8() {
        TopLevel parts = TopLevel.split(StateCodec.encode(SAMPLE));
        byte[] kernel = new TlvWriter().message(3, new TlvWriter().i64(1, 0).i64(2, 0).i64(3, 0).i64(4, 0)
                .bytes(6, new byte[]{'/', (byte) 0xc3, 0x28}).i64(7, 0).i64(8, 0)).toByteArray();
        byte[] state = concat(concat(parts.vcpu, parts.memory), kernel);
        assertThatThrownBy(() -> StateCodec.decode(state))
                .hasMessageContaining("field 6 (cwd) is not valid UTF-8");
    }

    @Test
    void an_fd_naming_an_unknown_open_file_is_refused() {
        KernelState k = SAMPLE.kernel();
        List<FdState> fds = new ArrayList<>(k.fds());
        fds.add(new FdState(9, 77, false));
        MachineState dangling = new MachineState(SAMPLE.vcpu(), SAMPLE.memory(), new KernelState(k.brkStart(), k.brk(),
                k.mmapBase(), k.mmapTop(), k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), k.files(), fds));
        assertThatThrownBy(() -> StateCodec.encode(dangling))
                .hasMessageContaining("fd 9 refers to unknown open file 77");
    }

    @Test
    void locks_the_process_name_and_dumpable_round_trip() throws Exception {
        MachineState locked = withLocks(List.of(new FileLock(LockOwner.POSIX, true, 10, 10),
                new FileLock(LockOwner.OFD, false, 100, 0), new FileLock(LockOwner.FLOCK, true, 0, 0)), "worker-7", false);
        MachineState decoded = StateCodec.decode(StateCodec.encode(locked));
        assertThat(decoded).usingRecursiveComparison().isEqualTo(locked);
        assertThat(decoded.kernel().files().getLast().locks()).hasSize(3);
        assertThat(decoded.kernel().processName()).isEqualTo("worker-7");
        assertThat(decoded.kernel().dumpable()).isFalse();
    }

    @Test
    void without_the_1_2_fields_a_state_reads_no_lock_no_name_and_dumpable() throws Exception {
        // The sample's kernel has none of them set: they are not written, and read as their defaults.
        byte[] withName = StateCodec.encode(withLocks(List.of(), "x", true));
        assertThat(withName.length).isEqualTo(StateCodec.encode(SAMPLE).length + 3); // tag, length, one byte
        KernelState k = StateCodec.decode(StateCodec.encode(SAMPLE)).kernel();
        assertThat(k.files()).allSatisfy(f -> assertThat(f.locks()).isEmpty());
        assertThat(k.processName()).isEmpty();
        assertThat(k.dumpable()).isTrue();
    }

    @Test
    void impossible_locks_and_names_are_refused() {
        assertThatThrownBy(() -> StateCodec.encode(withLocks(List.of(new FileLock(LockOwner.POSIX, true, -1, 0)), "", true)))
                .hasMessageContaining("negative lock start or length");
        assertThatThrownBy(() -> StateCodec.encode(withLocks(List.of(new FileLock(LockOwner.POSIX, true, Long.MAX_VALUE, 2)), "", true)))
                .hasMessageContaining("lock range beyond 2^63 - 1");
        assertThatThrownBy(() -> StateCodec.encode(withLocks(List.of(new FileLock(LockOwner.FLOCK, true, 5, 0)), "", true)))
                .hasMessageContaining("an flock lock has a byte range");
        assertThatThrownBy(() -> StateCodec.encode(withLocks(List.of(), "sixteen-bytes-xx", true)))
                .hasMessageContaining("process name longer than 15 bytes");
    }

    /** The sample with {@code locks} on its last open file, and the given prctl name and dumpable flag. */
    private static MachineState withLocks(List<FileLock> locks, String name, boolean dumpable) {
        KernelState k = SAMPLE.kernel();
        List<OpenFileState> files = new ArrayList<>(k.files());
        OpenFileState f = files.removeLast();
        files.add(new OpenFileState(f.id(), f.kind(), f.path(), f.flags(), f.mode(), f.offset(), f.fingerprint(), locks));
        return new MachineState(SAMPLE.vcpu(), SAMPLE.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(),
                k.mmapTop(), k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), files, k.fds(), k.signalActions(),
                k.umask(), k.restart(), name, dumpable));
    }

    private static MachineState withVcpuCpuid(List<CpuidEntry> cpuid) {
        VcpuState v = SAMPLE.vcpu();
        return new MachineState(new VcpuState(v.mpState(), v.regs(), v.sregs(), v.xsave(), v.xcrs(), v.debug(),
                v.msrs(), v.events(), cpuid, v.tscKhz()), SAMPLE.memory(), SAMPLE.kernel());
    }

    /** The sample's encoding with its memory field replaced by one of {@code size} bytes. */
    private static byte[] withMemory(long size) {
        TopLevel parts = TopLevel.split(StateCodec.encode(SAMPLE));
        byte[] memory = new TlvWriter().message(2, new TlvWriter().i64(1, size).int32(2, 4096)).toByteArray();
        return concat(concat(parts.vcpu, memory), parts.kernel);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Splits the top-level encoding into its three fields, which the encoder writes in tag order. */
    private record TopLevel(byte[] vcpu, byte[] memory, byte[] kernel) {
        static TopLevel split(byte[] full) {
            int[] bounds = new int[4];
            int pos = 0;
            for (int f = 0; f < 3; f++) {
                bounds[f] = pos;
                pos++; // key: tags 1..3 with wire type 2 fit in one byte
                long len = 0;
                int shift = 0;
                int b;
                do {
                    b = full[pos++] & 0xff;
                    len |= (long) (b & 0x7f) << shift;
                    shift += 7;
                } while ((b & 0x80) != 0);
                pos += (int) len;
            }
            bounds[3] = pos;
            return new TopLevel(Arrays.copyOfRange(full, bounds[0], bounds[1]),
                    Arrays.copyOfRange(full, bounds[1], bounds[2]), Arrays.copyOfRange(full, bounds[2], bounds[3]));
        }
    }
}
