package dev.scratchvm.testing;

import java.nio.file.Path;
import java.util.List;

/**
 * The images earlier versions of ScratchVM wrote, kept under src/test/resources/golden
 * (see the README there): each is a program saved at SAVE(), with the guest files it had
 * open and what it prints once restored.
 */
public final class GoldenImages {
    /** One golden image: its directory, its file name, and the CPUID variant it was saved with. */
    public record Golden(String version, String dir, String image, boolean xsave) {
        public Path directory() {
            return GuestPrograms.repoRoot().resolve("src/test/resources/golden").resolve(version).resolve(dir);
        }

        public Path imageFile() {
            return directory().resolve(image);
        }

        /** What the decoder of the version that wrote it read: StateDump lines. */
        public Path expectedState() {
            return directory().resolve(image.replace(".img", ".state.txt"));
        }

        @Override
        public String toString() {
            return version + "/" + dir + "/" + image;
        }
    }

    public static final List<Golden> ALL = List.of(
            new Golden("1.0", "lab", "lab.img", false),
            new Golden("1.0", "lab", "lab-xsave.img", true),
            new Golden("1.0", "signals", "signals.img", false),
            new Golden("1.0", "signals", "signals-xsave.img", true));

    private GoldenImages() {
    }
}
