package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.migration.InFlight;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Snapshots;

import java.nio.file.Path;

/** {@code scratchvm restore [FILE]}: resume a saved VM in this new VMM. */
final class RestoreCommand implements Command {
    static final Spec<RestoreCommand> SPEC = Spec.of("restore", "Resume a VM saved in an image file; exit with the guest's status.", RestoreCommand::new)
            .include(VmOptions.OPTIONS, c -> c.vm)
            .optionalParameter("FILE", "Image file (default: vm.img).", (c, v) -> c.image = Values.path(v))
            .option("--image", "FILE", "Where a later SAVE writes (default: the image restored from).", (c, v) -> c.saveTo = Values.path(v))
            .option("--memory-mode", "auto|map|copy", "map: map the image's pages copy-on-write (lazy); copy: copy them in; "
                    + "auto: copy small images, map large ones (default: auto).", (c, v) -> c.memoryMode = v);

    final VmOptions vm = new VmOptions();
    Path image = Path.of("vm.img");
    Path saveTo;
    String memoryMode = "auto";

    @Override
    public int call() throws Exception {
        ImageReader.Mode mode = switch (memoryMode) {
            case "auto" -> null;
            case "map" -> ImageReader.Mode.MAP;
            case "copy" -> ImageReader.Mode.COPY;
            default -> throw new IllegalArgumentException("--memory-mode must be auto, map or copy, not '" + memoryMode + "'");
        };
        InFlight migrating = InFlight.read(image);
        if (migrating != null) {
            // The server may be running this VM: restoring it here too would run it twice.
            System.err.println("scratchvm: not restored: " + migrating.describe(image) + "; 'scratchvm migrate " + image
                    + " --to " + migrating.to() + "' asks the server and finishes or undoes it");
            return MigrationTarget.IN_DOUBT;
        }
        MachineConfig config = vm.config(0, "");
        Machine machine = restore(image, config, mode);
        System.err.println(config.trace().prefix() + "RESTORE OPERATION");
        try (machine; Metrics metrics = vm.metrics()) {
            return Session.run(machine, new ImageTarget(saveTo != null ? saveTo : image, config.trace(), vm.verbose),
                    config.trace().prefix(), vm.verbose, vm.apiSock, metrics, null, vm.root);
        }
    }

    private static Machine restore(Path image, MachineConfig config, ImageReader.Mode mode) throws Exception {
        long start = System.nanoTime();
        Machine machine = Snapshots.restore(image, config, mode);
        if (config.verbose()) {
            System.err.printf("%srestored %s (%s) in %.2f ms%n", config.trace().prefix(), image, mode == null ? "auto" : mode,
                    (System.nanoTime() - start) / 1e6);
        }
        return machine;
    }
}
