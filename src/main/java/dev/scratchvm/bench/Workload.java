package dev.scratchvm.bench;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest program run inside this process, through the same Machine code path the CLI
 * uses, with its standard streams on /dev/null so the benchmark's table stays readable.
 */
final class Workload implements AutoCloseable {
    private final Path dir;
    private final int devNull = Libc.check("open /dev/null", Libc.open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0));

    Workload(Path dir) {
        this.dir = dir;
    }

    MachineConfig config(long memory) {
        return new MachineConfig(memory, dir, Trace.none(), false, new Stdio(devNull, devNull, devNull));
    }

    Machine boot(Path program, long memory, String... args) throws IOException, ElfException {
        ElfImage elf = ElfImage.parse(Files.readAllBytes(program), program.toString());
        List<String> argv = new ArrayList<>(List.of(program.toString()));
        argv.addAll(List.of(args));
        return Machine.boot(config(memory), elf, argv, List.of(), program.toString(), new byte[16]);
    }

    @Override
    public void close() {
        Libc.close(devNull);
    }
}
