package dev.scratchvm.control;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * sendfile to a pipe nobody reads waits for the reader, as on Linux, but where a pause can
 * reach it: the VM pauses and resumes, and the copy completes once the reader drains the pipe.
 */
@KvmTest
class BlockingSendfileTest {
    @TempDir
    Path dir;

    @Test
    void aGuestSendingAFileToAFullPipeCanBePausedAndFinishesWhenTheReaderReads() throws Exception {
        byte[] content = new byte[1 << 20];
        new Random(7).nextBytes(content);
        Files.write(dir.resolve("big"), content);
        Files.copy(GuestPrograms.build("metadata", GuestPrograms.Libc.MUSL), dir.resolve("metadata"));
        Path fifo = dir.resolve("out.fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
        // O_RDWR: opening does not wait for a reader; the test reads the other end later.
        int out = Libc.check("open fifo", Libc.open(fifo.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        int devNull = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0));
        try {
            MachineConfig config = new MachineConfig(16L << 20, dir, new Trace(Trace.Level.NONE, System.err, ""), false,
                    new Stdio(devNull, out, devNull));
            ElfImage elf = ElfImage.parse(Files.readAllBytes(dir.resolve("metadata")), "metadata");
            try (Machine m = Machine.boot(config, elf, List.of("./metadata", "sendfile", "big"), List.of(), "./metadata",
                    new byte[16]); Controller c = Controller.of(m, mm -> false).start()) {
                Thread.sleep(300); // the pipe (64 KiB) is full long before this
                for (int i = 0; i < 3; i++) {
                    CompletableFuture.runAsync(() -> {
                        try {
                            c.pause();
                        } catch (ControlException e) {
                            throw new IllegalStateException(e);
                        }
                    }).get(10, TimeUnit.SECONDS);
                    assertThat(c.state()).isEqualTo(Controller.State.PAUSED);
                    c.resume();
                }
                ByteArrayOutputStream received = new ByteArrayOutputStream();
                CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                    try (InputStream in = Files.newInputStream(fifo)) {
                        byte[] buf = new byte[65536];
                        while (received.size() < content.length) {
                            int n = in.read(buf);
                            if (n < 0) break;
                            received.write(buf, 0, n);
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                assertThat(c.awaitEnd().exitStatus()).isZero();
                reader.get(30, TimeUnit.SECONDS);
                assertThat(received.toByteArray()).isEqualTo(content);
            }
        } finally {
            Libc.close(out);
            Libc.close(devNull);
        }
    }
}
