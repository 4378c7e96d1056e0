package dev.scratchvm.testing;

import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.x86.DescriptorTable;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import java.util.List;

/** Parts of plausible machine states, shared by the state fixtures of the tests that build them by hand. */
public final class MachineStates {
    /** A flat 4 GiB data segment (selector 0x18), as DS, ES, SS and GS of a 64-bit program. */
    public static final Segment DATA = new Segment(0, 0xffffffff, 0x18, 3, 1, 0, 1, 1, 0, 1, 0, 0);

    private MachineStates() {
    }

    /**
     * The special registers of a 64-bit program as the VMM sets them up: flat code and data
     * segments, a TSS, no LDT, paging and long mode on; {@code fs} is the thread-local storage
     * segment.
     */
    public static SpecialRegisters longMode(Segment fs) {
        Segment code = new Segment(0, 0xffffffff, 0x10, 11, 1, 0, 0, 1, 1, 1, 0, 0);
        Segment tr = new Segment(0, 0xfff, 0x20, 11, 1, 0, 0, 0, 0, 0, 0, 0);
        Segment ldt = new Segment(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
        return new SpecialRegisters(code, DATA, DATA, fs, DATA, DATA, tr, ldt,
                new DescriptorTable(0x1000, 0x27), new DescriptorTable(0, 0), 0x80050033L, 0, 0x2000, 0x6a0,
                0, 0xd01, 0xfee00900L, List.of(0L, 0L, 0L, 0L));
    }

    /** Open files 0, 1 and 2: the VMM's stdin, stdout and stderr. */
    public static List<OpenFileState> stdioFiles() {
        return List.of(new OpenFileState(0, FileKind.STDIN, "", 0, 0, 0, FileFingerprint.NONE),
                new OpenFileState(1, FileKind.STDOUT, "", 1, 0, 0, FileFingerprint.NONE),
                new OpenFileState(2, FileKind.STDERR, "", 1, 0, 0, FileFingerprint.NONE));
    }

    /** Descriptors 0, 1 and 2 on {@link #stdioFiles()}. */
    public static List<FdState> stdioFds() {
        return List.of(new FdState(0, 0, false), new FdState(1, 1, false), new FdState(2, 2, false));
    }
}
