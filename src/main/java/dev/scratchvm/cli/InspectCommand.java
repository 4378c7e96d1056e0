package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.image.ImageInspector;

import java.nio.file.Path;

/** {@code scratchvm inspect FILE [--json]}. */
final class InspectCommand implements Command {
    static final Spec<InspectCommand> SPEC = Spec.of("inspect", "Validate an image and print what it holds.", InspectCommand::new)
            .parameter("FILE", "Image file.", (c, v) -> c.image = Values.path(v))
            .flag("Machine-readable output.", c -> c.json = true, "--json");

    Path image;
    boolean json;

    @Override
    public int call() throws Exception {
        System.out.print(ImageInspector.inspect(image, json));
        System.out.flush();
        return 0;
    }
}
