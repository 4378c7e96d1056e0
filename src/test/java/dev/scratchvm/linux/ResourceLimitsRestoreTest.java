package dev.scratchvm.linux;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.ResourceLimit;
import dev.scratchvm.sys.Errno;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Saved limits come back as they were, and never above what this VMM could give. */
class ResourceLimitsRestoreTest {
    private static final long SIZE = 16L << 20;

    @TempDir
    Path root;
    private GuestMemory memory;
    private GuestRoot guestRoot;

    @BeforeEach
    void open() {
        memory = GuestMemory.allocate(SIZE, BootLayout.GUEST_BASE);
        guestRoot = GuestRoot.open(root);
    }

    @AfterEach
    void close() {
        guestRoot.close();
        memory.close();
    }

    @Test
    void aSavedLimitIsRestoredAndALoweredNofileStillBoundsNewDescriptors() throws Exception {
        try (LinuxKernel kernel = restore(List.of(new ResourceLimit(Limits.RLIMIT_NOFILE, 3, 8)))) {
            assertThat(kernel.capture().resourceLimits()).containsExactly(new ResourceLimit(Limits.RLIMIT_NOFILE, 3, 8));
            memory.writeLong(0x400000, 'm'); // the memfd's name: "m"
            for (int fd = 0; fd < 3; fd++) {
                assertThat(kernel.syscall(new Call(Nr.MEMFD_CREATE, 0x400000, 0, 0, 0, 0, 0))).isEqualTo(new Control.Return(fd));
            }
            assertThat(kernel.syscall(new Call(Nr.MEMFD_CREATE, 0x400000, 0, 0, 0, 0, 0)))
                    .as("the soft limit of 3 descriptors is reached").isEqualTo(new Control.Return(-Errno.EMFILE));
            assertThat(kernel.syscall(new Call(Nr.DUP2, 0, 3, 0, 0, 0, 0))).isEqualTo(new Control.Return(-Errno.EBADF));
            assertThat(kernel.syscall(new Call(Nr.DUP2, 0, 2, 0, 0, 0, 0))).isEqualTo(new Control.Return(2));
        }
    }

    @Test
    void aHardLimitAboveTheVmmsMaximumIsRefused() {
        assertThatThrownBy(() -> restore(List.of(new ResourceLimit(Limits.RLIMIT_NOFILE, 8, 4096))))
                .isInstanceOf(KernelRestoreException.class).hasMessageContaining("not within this VM's maximum 1024");
        assertThatThrownBy(() -> restore(List.of(new ResourceLimit(Limits.RLIMIT_AS, 1, SIZE + 1))))
                .isInstanceOf(KernelRestoreException.class).hasMessageContaining("maximum " + SIZE);
    }

    private LinuxKernel restore(List<ResourceLimit> limits) throws KernelRestoreException {
        // One page of heap, where the memfd's name is: above the break nothing is mapped (EFAULT).
        KernelState base = new KernelState(0x400000, 0x401000, 0x400000, SIZE - (2 << 20), List.of(), "/", 0, 0, List.of(), List.of());
        KernelState state = new KernelState(base.brkStart(), base.brk(), base.mmapBase(), base.mmapTop(), base.mappings(), base.cwd(),
                0, 0, List.of(), List.of(), List.of(), base.umask(), null, "", true, limits, "scratchvm", "(none)");
        return LinuxKernel.restore(memory, guestRoot, Trace.none(), new NoCpu(), Stdio.INHERIT, state);
    }
}
