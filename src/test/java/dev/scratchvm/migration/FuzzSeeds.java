package dev.scratchvm.migration;

import dev.scratchvm.boot.LongMode;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.testing.FuzzChecks;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Writes the seed inputs of {@link FrameFuzzTest} into
 * {@code src/test/resources/dev/scratchvm/migration/FrameFuzzTestInputs/}: the bytes both sides
 * really send in one whole migration of a small guest (made by {@link ClientSession},
 * {@link ServerSession} and {@link FrameWriter}), and an ERROR frame. Not part of the build;
 * run it after a protocol change, and commit what changed:
 * <pre>
 * SCRATCHVM_TESTVM=off mvn test -Dtest='FuzzSeeds' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * Fuzzing longer is described in {@code dev.scratchvm.image.FuzzSeeds}.
 */
class FuzzSeeds {
    static final long SIZE = 16 << 20;

    @Test
    void write() throws Exception {
        MemoryTransport[] pair = MemoryTransport.pair();
        CompletableFuture<Void> serverSide = CompletableFuture.runAsync(() -> {
            try (ServerSession s = new ServerSession(pair[1], ScriptedServer.KEY)) {
                s.handshake(Duration.ofSeconds(5));
                new ScriptedServer(ScriptedServer.AtCommit.COMMIT).receive(s);
                s.ready();
                s.awaitCommit();
                s.committed();
                s.awaitBye();
            } catch (MigrationException e) {
                throw new IllegalStateException(e);
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
        int handshake;
        try (ClientSession c = new ClientSession(pair[0], ScriptedServer.KEY)) {
            c.handshake(Purpose.MIGRATE, Handshake.nonce(), Duration.ofSeconds(5), Messages.Preamble.OLDEST);
            handshake = pair[0].written().length;
            c.offer(StateCodec.encode(state()), false);
            c.end(0, c.sendMemory(guest(), p -> true));
            c.awaitReady(Duration.ofSeconds(5));
            c.commit();
            c.awaitCommitted();
            c.bye();
        }
        serverSide.join();
        byte[] client = pair[0].written();
        FuzzChecks.writeSeed(FrameFuzzTest.class, "frames", "client-migration", client);
        FuzzChecks.writeSeed(FrameFuzzTest.class, "frames", "server-migration", pair[1].written());
        byte[] error = FramingTest.frame(MessageType.ERROR,
                new Messages.ErrorReply(ErrorCode.REJECTED, "the VM's state is refused: vCPU rip 0x0").encode().array());
        FuzzChecks.writeSeed(FrameFuzzTest.class, "frames", "error",
                ByteBuffer.allocate(Messages.Preamble.BYTES + error.length).put(Messages.Preamble.CURRENT.encode()).put(error).array());
        byte[] afterHandshake = Arrays.copyOfRange(client, handshake, client.length);
        FuzzChecks.writeSeed(FrameFuzzTest.class, "serverStream", "client-migration-after-handshake", afterHandshake);
        FuzzChecks.writeSeed(FrameFuzzTest.class, "serverStreamWithChecksumsFixed", "client-migration-after-handshake",
                afterHandshake);
    }

    /** The sample state with ScratchVM's own long-mode registers and SYSCALL MSRs, so that the rules accept it. */
    static MachineState state() {
        MachineState s = SampleStates.plain(SIZE);
        VcpuState v = s.vcpu();
        VcpuState vcpu = new VcpuState(v.mpState(), v.regs(), LongMode.sregs(v.sregs()), v.xsave(), v.xcrs(), v.debug(),
                LongMode.syscallMsrs(), v.events(), v.cpuid(), v.tscKhz());
        return new MachineState(vcpu, s.memory(), s.kernel());
    }

    /** A few scattered data pages, two of them adjacent; zeros elsewhere (never sent). */
    static MemorySegment guest() {
        MemorySegment m = Arena.ofAuto().allocate(SIZE, 4096);
        for (long page : new long[]{0, 1, 7, 1023, 4095}) m.set(JAVA_LONG, page * 4096 + 8 * (page % 512), page + 1);
        return m;
    }
}
