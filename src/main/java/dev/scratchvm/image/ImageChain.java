package dev.scratchvm.image;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A full image and the diffs on top of it, each validated ({@link ImageReader#open}) and each
 * parent verified by content: its SHA-256 must be the one its child names. Opening fails with
 * one line naming the image at fault if a parent is missing, changed, of another memory size,
 * part of a cycle, or the chain is longer than {@value #MAX_LENGTH} images.
 */
public final class ImageChain implements AutoCloseable {
    /** Images in a chain, the full base included; restoring reads all of them, so the chain is bounded. */
    public static final int MAX_LENGTH = 64;

    private final List<ImageReader> images;   // base first

    private ImageChain(List<ImageReader> images) {
        this.images = List.copyOf(images);
    }

    /** Follows the parents {@code top} names (path hints, verified by hash) down to a full image. */
    public static ImageChain open(Path top) throws ImageException {
        List<ImageReader> found = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        try {
            Path at = top;
            while (true) {
                Path real = realPath(at);
                if (!seen.add(real)) {
                    throw new ImageException(at + ": parent chain of " + top + " is a cycle (" + at + " appears twice)");
                }
                if (found.size() == MAX_LENGTH) {
                    throw new ImageException(top + ": parent chain is longer than " + MAX_LENGTH + " images");
                }
                ImageReader r = ImageReader.open(at);
                found.add(r);
                if (!r.isDiff()) break;
                Path parent = resolve(at, r.parent());
                if (!Files.exists(parent)) {
                    throw new ImageException(at + ": parent image " + parent + " not found (it should have SHA-256 "
                            + r.parent().hashHex() + ")");
                }
                at = parent;
            }
            List<ImageReader> baseFirst = new ArrayList<>(found.reversed());
            verify(baseFirst);
            return new ImageChain(baseFirst);
        } catch (ImageException | RuntimeException e) {
            found.forEach(ImageReader::close);
            throw e;
        }
    }

    /** Exactly these images, base first: each must be the parent the next one names. */
    public static ImageChain open(List<Path> baseFirst) throws ImageException {
        if (baseFirst.isEmpty()) throw new ImageException("no images given");
        if (baseFirst.size() > MAX_LENGTH) {
            throw new ImageException(baseFirst.getLast() + ": chain of " + baseFirst.size() + " images is longer than " + MAX_LENGTH);
        }
        List<ImageReader> opened = new ArrayList<>();
        try {
            for (Path p : baseFirst) opened.add(ImageReader.open(p));
            verify(opened);
            return new ImageChain(opened);
        } catch (ImageException | RuntimeException e) {
            opened.forEach(ImageReader::close);
            throw e;
        }
    }

    private static void verify(List<ImageReader> baseFirst) throws ImageException {
        ImageReader base = baseFirst.getFirst();
        if (base.isDiff()) {
            throw new ImageException(base.name() + ": is a diff, but the chain has no parent for it (expected a full image first)");
        }
        for (int i = 1; i < baseFirst.size(); i++) {
            ImageReader parent = baseFirst.get(i - 1), child = baseFirst.get(i);
            if (!child.isDiff()) throw new ImageException(child.name() + ": is a full image, not a diff of " + parent.name());
            if (!child.parent().matches(parent.contentHash())) {
                throw new ImageException(child.name() + ": parent " + parent.name() + " has changed or is not its parent (SHA-256 "
                        + java.util.HexFormat.of().formatHex(parent.contentHash()) + ", expected " + child.parent().hashHex() + ")");
            }
            if (child.state().memory().size() != parent.state().memory().size()) {
                throw new ImageException(child.name() + ": memory size " + child.state().memory().size()
                        + " differs from its parent " + parent.name() + "'s " + parent.state().memory().size());
            }
        }
    }

    /** Where a diff's parent is: its path hint, relative to the diff's directory unless absolute. */
    public static Path resolve(Path diff, ParentRef parent) {
        Path hint = Path.of(parent.pathHint());
        if (hint.isAbsolute()) return hint;
        Path dir = diff.toAbsolutePath().getParent();
        return dir.resolve(hint).normalize();
    }

    /** The relative hint from {@code diff}'s directory to {@code parent}, as stored in the diff. */
    public static String hint(Path diff, Path parent) {
        Path dir = diff.toAbsolutePath().normalize().getParent();
        Path p = parent.toAbsolutePath().normalize();
        try {
            return dir.relativize(p).toString();
        } catch (IllegalArgumentException e) {
            return p.toString();
        }
    }

    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (java.io.IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** Base first. */
    public List<ImageReader> images() {
        return images;
    }

    public ImageReader top() {
        return images.getLast();
    }

    /** Data pages stored across the chain (for choosing a restore mode). */
    public long storedPages() {
        long n = 0;
        for (ImageReader r : images) n += r.pageMap().storedPages();
        return n;
    }

    /**
     * Rebuilds memory base first: the base into zeroed memory, then each diff over it.
     * Diffs are copied; the base follows {@code baseMode}.
     */
    public void restoreMemory(MemorySegment guest, ImageReader.Mode baseMode) throws ImageException {
        for (int i = 0; i < images.size(); i++) {
            images.get(i).restoreMemory(guest, i == 0 ? baseMode : ImageReader.Mode.COPY);
        }
    }

    @Override
    public void close() {
        images.forEach(ImageReader::close);
    }
}
