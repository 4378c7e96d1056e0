package dev.scratchvm.cli;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.WarmUp;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code scratchvm run [OPTIONS] PROGRAM [ARGS...]}. */
@Command(name = "run", mixinStandardHelpOptions = true, version = Main.VERSION, description = "Run a static x86-64 Linux program in a new VM; exit with its status.")
final class RunCommand implements Callable<Integer> {
    @Mixin
    VmOptions vm;

    @Option(names = "--memory", paramLabel = "SIZE", converter = MemorySize.class,
            description = "Guest memory, e.g. 16M or 1G (default: 16M).")
    long memory = MachineConfig.DEFAULT_MEMORY;

    @Option(names = "--env", paramLabel = "K=V", description = "Environment variable for the program (repeatable).")
    List<String> env = new ArrayList<>();

    @Option(names = "--image", paramLabel = "FILE",
            description = "Where SAVE writes the VM; with --migrate-to, only if the migration is in doubt (default: ${DEFAULT-VALUE}).")
    Path image = Path.of("vm.img");

    @Mixin
    MigrationTarget.Options migration;

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "Static ELF executable.")
    Path program;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "Arguments for the program.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        byte[] file;
        try {
            file = Files.readAllBytes(program);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(program + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(program + ": cannot read: " + e.getMessage());
        }
        ElfImage elf;
        try {
            elf = ElfImage.parse(file, program.toString());
        } catch (ElfException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        for (String e : env) if (!e.contains("=")) throw new IllegalArgumentException("--env needs K=V, got '" + e + "'");
        List<String> argv = new ArrayList<>();
        argv.add(program.toString());
        argv.addAll(args);
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        MachineConfig config = vm.config(memory, migration.tracePrefix());
        SaveTarget target = MigrationTarget.of(migration, config.trace(), vm.root, image, vm.verbose);
        if (target instanceof MigrationTarget m) m.prepare(WarmUp.inBackground());
        try (Machine machine = Machine.boot(config, elf, argv, env, program.toString(), random)) {
            int status = Session.run(machine, target, config.trace().prefix(), vm.verbose);
            return target instanceof MigrationTarget m ? m.finish(status) : status;
        }
    }
}
