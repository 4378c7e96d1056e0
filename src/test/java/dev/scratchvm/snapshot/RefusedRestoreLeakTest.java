package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.scratchvm.snapshot.Guest.LAB_FILE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * A restore that is refused, at whatever step, leaves no file descriptor open: a serving VMM
 * refuses images all day long. Counted in /proc/self/fd across 100 refusals of five kinds,
 * each failing at a different step: validating the image, loading the vCPU state, opening the
 * guest root, re-opening the guest's files.
 */
@KvmTest
class RefusedRestoreLeakTest {
    @TempDir
    Path dir;

    @Test
    void a_hundred_refused_restores_leave_no_fd_open() throws Exception {
        Path app = dir.resolve("app");
        Files.copy(GuestPrograms.buildFile(Guest.LAB_APP, Libc.MUSL), app, StandardCopyOption.COPY_ATTRIBUTES);
        MachineState saved;
        try (Machine m = InProcessVm.bootAndRunToSave(app, dir, 16L << 20)) {
            saved = InProcessVm.save(m, dir.resolve("vm.img"));
        }
        Path changed = Files.createDirectory(dir.resolve("changed"));
        Files.writeString(changed.resolve(LAB_FILE), "Hello World ???\n");
        Path missing = Files.createDirectory(dir.resolve("missing"));
        Path badXsave = rewrite(saved, withVcpu(saved, garbageXsave(saved.vcpu())), "xsave.img");
        Path hostile = rewrite(saved, withVcpu(saved, withMsr(saved.vcpu(), 0xC0000082, 0x200000)), "lstar.img");
        List<Refusal> kinds = List.of(
                new Refusal("a file changed since the save", dir.resolve("vm.img"), changed),
                new Refusal("a file missing", dir.resolve("vm.img"), missing),
                new Refusal("an XSAVE area KVM refuses", badXsave, dir),
                new Refusal("a guest root that does not exist", dir.resolve("vm.img"), dir.resolve("no-such-root")),
                new Refusal("a VMM-owned MSR changed", hostile, dir));
        for (Refusal r : kinds) r.assertRefused(); // warm up: the JVM opens what it needs once

        long before = openFds();
        for (int i = 0; i < 100; i++) kinds.get(i % kinds.size()).assertRefused();

        assertThat(openFds()).isEqualTo(before);
    }

    private record Refusal(String what, Path image, Path root) {
        void assertRefused() {
            Throwable t = catchThrowable(() -> InProcessVm.restore(image, root, ImageReader.Mode.MAP).close());
            assertThat(t).as(what).isInstanceOfAny(ImageException.class, Machine.RestoreException.class);
            assertThat(t.getMessage()).as(what).doesNotContain("\n");
        }
    }

    private static long openFds() throws Exception {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private Path rewrite(MachineState saved, MachineState state, String name) throws Exception {
        try (ImageReader r = ImageReader.open(dir.resolve("vm.img")); Arena a = Arena.ofConfined()) {
            MemorySegment memory = a.allocate(saved.memory().size(), 4096);
            r.restoreMemory(memory, ImageReader.Mode.COPY);
            ImageWriter.write(dir.resolve(name), state, memory, PageFilter.ALL);
        }
        return dir.resolve(name);
    }

    private static MachineState withVcpu(MachineState s, VcpuState v) {
        return new MachineState(v, s.memory(), s.kernel());
    }

    /** XSTATE_BV (byte 512) claiming every component, which no host supports. */
    private static VcpuState garbageXsave(VcpuState v) {
        byte[] xsave = v.xsave();
        for (int i = 512; i < 520; i++) xsave[i] = (byte) 0xff;
        return new VcpuState(v.mpState(), v.regs(), v.sregs(), xsave, v.xcrs(), v.debug(), v.msrs(), v.events(), v.cpuid(),
                v.tscKhz());
    }

    private static VcpuState withMsr(VcpuState v, int index, long value) {
        List<Msr> msrs = new ArrayList<>();
        for (Msr m : v.msrs()) msrs.add(m.index() == index ? new Msr(index, value) : m);
        return new VcpuState(v.mpState(), v.regs(), v.sregs(), v.xsave(), v.xcrs(), v.debug(), msrs, v.events(), v.cpuid(),
                v.tscKhz());
    }
}
