package dev.scratchvm.migration;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;
import dev.scratchvm.x86.Xcr;
import dev.scratchvm.testing.MachineStates;

import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/** Machine states for protocol tests that never run a VM: plausible, and encodable by StateCodec. */
final class SampleStates {
    private SampleStates() {
    }

    /** A stopped program with stdio and the given regular files open (path → content). */
    static MachineState withFiles(long memorySize, List<String> paths, List<byte[]> contents) {
        SpecialRegisters sregs = MachineStates.longMode(MachineStates.DATA);
        VcpuState vcpu = new VcpuState(0, Registers.atEntry(0x401000, 0x7ff000), sregs, new byte[4096],
                List.of(new Xcr(0, 3)), new DebugRegisters(List.of(0L, 0L, 0L, 0L), 0xffff0ff0L, 0x400, 0), List.of(),
                new VcpuEvents(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), List.of(), 0);
        List<OpenFileState> files = new ArrayList<>(MachineStates.stdioFiles());
        List<FdState> fds = new ArrayList<>(MachineStates.stdioFds());
        for (int i = 0; i < paths.size(); i++) {
            CRC32C crc = new CRC32C();
            crc.update(contents.get(i));
            files.add(new OpenFileState(3 + i, FileKind.REGULAR, paths.get(i), 02, 0644, contents.get(i).length,
                    new FileFingerprint(contents.get(i).length, 0, (int) crc.getValue())));
            fds.add(new FdState(3 + i, 3 + i, false));
        }
        KernelState kernel = new KernelState(0x500000, 0x520000, 0x600000, memorySize - (1 << 20), List.of(), "/",
                0, 0, files, fds);
        return new MachineState(vcpu, new MemoryState(memorySize, 4096), kernel);
    }

    static MachineState plain(long memorySize) {
        return withFiles(memorySize, List.of(), List.of());
    }

    /** {@code s} with another brk_start: 0 is the hostile value that would let brk overwrite the VMM's page tables. */
    static MachineState withBrkStart(MachineState s, long brkStart) {
        KernelState k = s.kernel();
        return new MachineState(s.vcpu(), s.memory(), new KernelState(brkStart, k.brk(), k.mmapBase(), k.mmapTop(),
                k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), k.files(), k.fds(), k.signalActions()));
    }
}
