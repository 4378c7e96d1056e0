package dev.scratchvm.vmm;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageHash;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * The durable image a machine's memory equals, apart from the pages it has dirtied since:
 * the parent of its next diff. Its SHA-256 is computed when the first diff needs it (a full
 * image can be large, and most are never diffed), from the very file that was written or
 * restored from: if it has been replaced or modified since, the diff is refused.
 *
 * @param chain the images from the full base to this one, base first (this one last)
 */
record SnapshotParent(List<Path> chain, Object fileKey, long size, long mtimeNanos, byte[][] hash) {

    static SnapshotParent of(List<Path> chain) throws IOException {
        Path p = chain.getLast();
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        return new SnapshotParent(List.copyOf(chain), a.fileKey(), a.size(), mtime(a), new byte[1][]);
    }

    private static long mtime(BasicFileAttributes a) {
        return a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    Path path() {
        return chain.getLast();
    }

    /** Images in the chain ending here. */
    int length() {
        return chain.size();
    }

    /** SHA-256 of the parent file, once it is known to be the file this VMM wrote or restored from. */
    byte[] sha256() throws ImageException {
        if (hash[0] != null) return hash[0];
        Path p = path();
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (!java.util.Objects.equals(a.fileKey(), fileKey) || a.size() != size || mtime(a) != mtimeNanos) {
                throw new ImageException(p + ": the parent image changed since it was written or restored from;"
                        + " take a full snapshot");
            }
            hash[0] = ImageHash.of(p);
            return hash[0];
        } catch (IOException e) {
            throw new ImageException(p + ": parent image is no longer readable (" + e.getMessage() + "); take a full snapshot");
        }
    }
}
