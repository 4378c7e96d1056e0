package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.image.ImageMerge;
import dev.scratchvm.image.ImageWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code scratchvm image merge IMAGE... OUT}: image files as files, apart from any VM. */
final class ImageCommand {
    static final Spec<ImageCommand> SPEC = Spec.of("image", "Work on image files.", ImageCommand::new)
            .subcommand(Spec.<ImageCommand, Merge>sub("merge",
                            "Fold a full image and its diffs into one full image OUT (written atomically). Give the chain base first, "
                                    + "or only its last diff, whose parents are then found by their names and checked by their hashes.",
                            p -> new Merge())
                    .rest("IMAGE... OUT", "The chain, then the image to write.", (m, v) -> m.paths.add(Values.path(v))));

    private static final class Merge implements Command {
        final List<Path> paths = new ArrayList<>();

        @Override
        public int call() throws Exception {
            if (paths.size() < 2) throw new IllegalArgumentException("image merge needs at least one image and the output file");
            List<Path> chain = new ArrayList<>(paths.subList(0, paths.size() - 1));
            Path out = paths.getLast();
            ImageWriter.Result r = ImageMerge.merge(chain, out);
            System.out.printf(Locale.ROOT, "merged into %s: %d pages, %d bytes%n", out, r.pagesStored(), r.bytesWritten());
            return 0;
        }
    }
}
