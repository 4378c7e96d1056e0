package dev.scratchvm.vmm;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageHash;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * The durable image a machine's memory equals, apart from the pages it has dirtied since:
 * the parent of its next diff. Its SHA-256 (what the diff names it by) is computed off the
 * snapshot's critical path: small images are hashed in the background while the guest runs
 * on, large ones when the first diff needs them (most full images are never diffed). Either
 * way it is the hash of the very file that was written or restored from: if the file has been
 * replaced or modified since, the diff is refused.
 */
final class SnapshotParent {
    /** Images up to this size are hashed in the background right away. */
    private static final long EAGER_HASH_BYTES = 64L << 20;

    private final List<Path> chain;
    private final Object fileKey;
    private final long size;
    private final long mtimeNanos;
    private CompletableFuture<byte[]> hash;

    private SnapshotParent(List<Path> chain, BasicFileAttributes a) {
        this.chain = List.copyOf(chain);
        this.fileKey = a.fileKey();
        this.size = a.size();
        this.mtimeNanos = mtime(a);
    }

    /** The image just written or restored from, last of {@code chain} (base first). */
    static SnapshotParent of(List<Path> chain) throws IOException {
        SnapshotParent p = new SnapshotParent(chain, Files.readAttributes(chain.getLast(), BasicFileAttributes.class));
        if (p.size <= EAGER_HASH_BYTES) {
            CompletableFuture<byte[]> f = new CompletableFuture<>();
            Thread.ofVirtual().name("hash " + p.path().getFileName()).start(() -> {
                try {
                    f.complete(ImageHash.of(p.path()));
                } catch (IOException | RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
            p.hash = f;
        }
        return p;
    }

    private static long mtime(BasicFileAttributes a) {
        return a.lastModifiedTime().to(TimeUnit.NANOSECONDS);
    }

    /** The images from the full base to this one, base first. */
    List<Path> chain() {
        return chain;
    }

    Path path() {
        return chain.getLast();
    }

    /** Images in the chain ending here. */
    int length() {
        return chain.size();
    }

    /** SHA-256 of the parent file, once it is known to still be the file this VMM wrote or restored from. */
    byte[] sha256() throws ImageException {
        Path p = path();
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (!Objects.equals(a.fileKey(), fileKey) || a.size() != size || mtime(a) != mtimeNanos) {
                throw new ImageException(p + ": the parent image changed since it was written or restored from;"
                        + " take a full snapshot");
            }
            if (hash != null) {
                try {
                    return hash.join();
                } catch (CompletionException e) {
                    hash = null;   // hash it again below, and report that failure if it repeats
                }
            }
            byte[] h = ImageHash.of(p);
            hash = CompletableFuture.completedFuture(h);
            return h;
        } catch (IOException e) {
            throw new ImageException(p + ": parent image is no longer readable (" + e.getMessage() + "); take a full snapshot");
        }
    }
}
