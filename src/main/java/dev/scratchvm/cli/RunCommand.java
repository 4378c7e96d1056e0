package dev.scratchvm.cli;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.WarmUp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/** {@code scratchvm run [OPTIONS] PROGRAM [ARGS...]}. */
final class RunCommand implements Command {
    static final Spec<RunCommand> SPEC = Spec.of("run", "Run a static x86-64 Linux program in a new VM; exit with its status.", RunCommand::new)
            .include(VmOptions.OPTIONS, c -> c.vm)
            .option("--memory", "SIZE", "Guest memory, e.g. 16M or 1G (default: 16M).", (c, v) -> c.memory = MemorySize.parse(v))
            .repeatable("--env", "K=V", "Environment variable for the program (repeatable).", (c, v) -> c.env.add(v))
            .option("--image", "FILE", "Where SAVE writes the VM; with --migrate-to, only if the migration is in doubt (default: vm.img).",
                    (c, v) -> c.image = Values.path(v))
            .include(MigrationTarget.Options.OPTIONS, c -> c.migration)
            .parameter("PROGRAM", "Static ELF executable.", (c, v) -> c.program = Values.path(v))
            // Everything after the program belongs to it: "run prog -v" passes -v to the program.
            .rest("ARGS", "Arguments for the program.", (c, v) -> c.args.add(v));

    final VmOptions vm = new VmOptions();
    long memory = MachineConfig.DEFAULT_MEMORY;
    final List<String> env = new ArrayList<>();
    Path image = Path.of("vm.img");
    final MigrationTarget.Options migration = new MigrationTarget.Options();
    Path program;
    final List<String> args = new ArrayList<>();

    @Override
    public int call() throws Exception {
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
        try (Metrics metrics = vm.metrics()) {
            SaveTarget target = MigrationTarget.of(migration, config.trace(), vm.root, image, vm.verbose, metrics);
            // The capture at SAVE runs on a whole machine: rehearse it on throwaway ones with this config.
            Thread warmUp = target instanceof MigrationTarget ? WarmUp.inBackground(config, Session.MIGRATIONS, WarmUp.Budget.BEFORE_START) : null;
            try (Machine machine = Machine.boot(config, elf, argv, env, program.toString(), random)) {
                if (target instanceof MigrationTarget m) {
                    // Connected after the warm-up, not during it: a slow (emulated) warm-up aged the early
                    // connection past the idle timeout, and its replacement found the server still busy with it.
                    m.prepare(warmUp);
                    m.connectEarly(machine);
                }
                int status = Session.run(machine, target, config.trace().prefix(), vm.verbose, vm.apiSock, metrics,
                        migration.keyFile, migration.tls(), vm.root);
                return target instanceof MigrationTarget m ? m.finish(status) : status;
            }
        }
    }
}
