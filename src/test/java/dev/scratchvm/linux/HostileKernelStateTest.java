package dev.scratchvm.linux;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.sys.Errno;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Second line of defence behind the image rules: even a kernel state that slipped past them
 * (brk_start 0, an mmap area far beyond guest memory) cannot make a system call touch the
 * VMM's 2 MiB or throw out of the system-call layer. The memory calls answer as Linux would
 * when there is no room (-ENOMEM, or the unchanged break) instead.
 */
class HostileKernelStateTest {
    private static final long SIZE = 16L << 20, PAGE = 4096;
    private static final long MARK = 0x5ca7c4_0000_0001L;

    @TempDir
    Path root;
    private GuestMemory memory;
    private GuestRoot guestRoot;
    private LinuxKernel kernel;

    @BeforeEach
    void memoryWithMarkedPageTables() {
        memory = GuestMemory.allocate(SIZE, BootLayout.GUEST_BASE);
        for (long page = 0; page < BootLayout.GUEST_BASE; page += PAGE) memory.writeLong(page + 8, MARK);
        guestRoot = GuestRoot.open(root);
    }

    @AfterEach
    void close() {
        if (kernel != null) kernel.close();
        guestRoot.close();
        memory.close();
    }

    @Test
    void an_mmap_area_beyond_guest_memory_gives_enomem_not_an_exception() throws Exception {
        kernel = restore(0x400000, 0x400000, 0x400000, 1L << 50);

        long result = value(kernel.syscall(new Call(Nr.MMAP, 0, 1 << 20, 3, 0x22, -1, 0)));

        assertThat(result).isEqualTo(-Errno.ENOMEM);
        assertThat(value(kernel.syscall(new Call(Nr.MREMAP, 0x600000, PAGE, 1 << 20, 1, 0, 0)))).isNegative();
        assertVmmPagesIntact();
    }

    @Test
    void a_break_starting_at_zero_never_discards_the_vmm_pages() throws Exception {
        kernel = restore(0, 0x400000, 0x400000, SIZE - (2 << 20));

        long result = value(kernel.syscall(new Call(Nr.BRK, PAGE, 0, 0, 0, 0, 0)));

        assertThat(result).as("the break stays where it was").isEqualTo(0x400000);
        assertVmmPagesIntact();
    }

    @Test
    void munmap_and_madvise_of_the_vmm_pages_are_refused() throws Exception {
        kernel = restore(0x400000, 0x400000, 0x400000, SIZE - (2 << 20));

        assertThat(value(kernel.syscall(new Call(Nr.MUNMAP, PAGE, PAGE, 0, 0, 0, 0)))).isEqualTo(-Errno.EINVAL);
        assertThat(value(kernel.syscall(new Call(Nr.MADVISE, PAGE, PAGE, 4, 0, 0, 0)))).isEqualTo(-Errno.EINVAL);
        assertVmmPagesIntact();
    }

    private LinuxKernel restore(long brkStart, long brk, long mmapBase, long mmapTop) throws KernelRestoreException {
        KernelState state = new KernelState(brkStart, brk, mmapBase, mmapTop, List.<Mapping>of(), "/", 0, 0, List.of(), List.of());
        return LinuxKernel.restore(memory, guestRoot, Trace.none(), new NoCpu(), Stdio.INHERIT, state);
    }

    private void assertVmmPagesIntact() {
        for (long page = 0; page < BootLayout.GUEST_BASE; page += PAGE) {
            assertThat(memory.readLong(page + 8)).as("VMM page 0x%x", page).isEqualTo(MARK);
        }
    }


    /** The result a plain call returns to the guest. */
    private static long value(Control control) {
        return ((Control.Return) control).value();
    }
}
