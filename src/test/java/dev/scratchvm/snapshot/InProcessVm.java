package dev.scratchvm.snapshot;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Outcome;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.BitSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The save and restore paths of the CLI, called directly in this JVM through the public API
 * (the CLI classes are package-private): boot, run to SAVE, capture, write the image; open
 * it, rebuild the machine. Guests used here must not print before SAVE, since their stdout
 * would be this JVM's.
 */
final class InProcessVm {
    private InProcessVm() {
    }

    static MachineConfig config(Path root, long memory) {
        return config(root, memory, Stdio.INHERIT);
    }

    static MachineConfig config(Path root, long memory, Stdio stdio) {
        return new MachineConfig(memory, root, new Trace(Trace.Level.NONE, System.err, ""), false, stdio);
    }

    /** Boots {@code binary} with guest root {@code root} and runs it until it asks for SAVE. */
    static Machine bootAndRunToSave(Path binary, Path root, long memory) {
        return bootAndRunToSave(binary, root, memory, Stdio.INHERIT);
    }

    /** As above, with arguments after the program name. */
    static Machine bootAndRunToSave(Path binary, Path root, long memory, List<String> args) {
        return bootAndRunToSave(binary, root, memory, Stdio.INHERIT, args);
    }

    /** As above, with the guest's standard streams on the given host fds. */
    static Machine bootAndRunToSave(Path binary, Path root, long memory, Stdio stdio) {
        return bootAndRunToSave(binary, root, memory, stdio, List.of());
    }

    private static Machine bootAndRunToSave(Path binary, Path root, long memory, Stdio stdio, List<String> args) {
        ElfImage elf;
        try {
            elf = ElfImage.parse(Files.readAllBytes(binary), binary.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ElfException e) {
            throw new IllegalStateException(e);
        }
        Machine m;
        try {
            List<String> argv = new java.util.ArrayList<>();
            argv.add("./" + binary.getFileName());
            argv.addAll(args);
            m = Machine.boot(config(root, memory, stdio), elf, argv, List.of(),
                    binary.toString(), new byte[16]);
        } catch (ElfException e) {
            throw new IllegalStateException(e);
        }
        Outcome o = m.run();
        if (!(o instanceof Outcome.SaveRequested)) {
            m.close();
            throw new AssertionError("expected the guest to ask for SAVE, got " + o);
        }
        return m;
    }

    /** The musl lab program put into {@code dir}, run until its SAVE, and saved to dir/vm.img. */
    static MachineState saveLabProgram(Path dir) throws Exception {
        Path app = dir.resolve("app");
        Files.copy(GuestPrograms.buildFile(Guest.LAB_APP, GuestPrograms.Libc.MUSL), app, StandardCopyOption.COPY_ATTRIBUTES);
        try (Machine m = bootAndRunToSave(app, dir, 16L << 20)) {
            return save(m, dir.resolve("vm.img"));
        }
    }

    /** What ImageTarget does on SAVE. */
    static MachineState save(Machine m, Path image) throws ImageException, KernelRestoreException {
        MachineState state = m.capture();
        BitSet inUse = m.memory().pagesInUse();
        ImageWriter.write(image, state, m.memory().segment(), page -> inUse.get((int) page));
        return state;
    }

    /** What RestoreCommand does before it runs the guest: validate, then rebuild. */
    static Machine restore(Path image, Path root, ImageReader.Mode mode) throws ImageException, Machine.RestoreException {
        return restore(image, root, mode, Stdio.INHERIT);
    }

    static Machine restore(Path image, Path root, ImageReader.Mode mode, Stdio stdio)
            throws ImageException, Machine.RestoreException {
        try (ImageReader reader = ImageReader.open(image)) {
            assertThat(reader.state().memory().size()).isPositive();
            return Machine.restore(config(root, 0, stdio), reader.state(), memory -> {
                reader.restoreMemory(memory.segment(), mode);
                if (mode == ImageReader.Mode.MAP) {
                    for (PageMap.Run run : reader.pageMap().runs()) memory.markFileBacked(run.firstPage(), run.pageCount());
                }
            });
        }
    }
}
