package dev.scratchvm.cli;

import dev.scratchvm.image.ImageInspector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code scratchvm inspect FILE [--json]}. */
@Command(name = "inspect", mixinStandardHelpOptions = true, version = Main.VERSION, description = "Validate an image and print what it holds.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "Image file.")
    Path image;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        System.out.print(ImageInspector.inspect(image, json));
        System.out.flush();
        return 0;
    }
}
