package dev.scratchvm.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The temporary files a save writes next to its image, {@code NAME.tmp-PID-RANDOM}, and the
 * removal of those a crashed save left behind. A temporary is provably abandoned when the
 * process named in it is gone, nobody holds a lock on it (the writer locks it while writing),
 * and this process may write it. Anything else is left alone: a save of another user, or of a
 * live process on this host, or of one elsewhere on shared storage that still holds its lock.
 */
final class StaleTemporaries {
    private StaleTemporaries() {
    }

    /** The name prefix of this process's temporaries for {@code image}. */
    static String ownPrefix(Path image) {
        return prefix(image) + ProcessHandle.current().pid() + "-";
    }

    private static String prefix(Path image) {
        return image.toAbsolutePath().getFileName() + ".tmp-";
    }

    /**
     * Locks a temporary being written, so that no other process takes it for abandoned (the
     * lock goes with the process, however it ends). Best effort: a file system without locks
     * still gets its images saved, and the PID in the name then protects the temporary alone.
     */
    static void markInUse(FileChannel ch) {
        try {
            ch.tryLock();
        } catch (IOException | OverlappingFileLockException e) {
            // no locking here: see above
        }
    }

    /** Removes the abandoned temporaries of {@code image}; returns how many. Never fails. */
    static int remove(Path image) {
        Path target = image.toAbsolutePath();
        String prefix = prefix(target);
        long self = ProcessHandle.current().pid();
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(target.getParent(), glob(prefix) + "*")) {
            for (Path p : entries) {
                long pid = pidOf(p.getFileName().toString().substring(prefix.length()));
                if (pid <= 0 || pid == self || ProcessHandle.of(pid).isPresent()) continue;
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || !unlocked(p)) continue;
                if (Files.deleteIfExists(p)) removed++;
            }
        } catch (IOException | RuntimeException e) {
            // Best effort: an unreadable directory only means nothing is cleaned up.
        }
        return removed;
    }

    /** The PID in "PID-RANDOM", or -1 when the name is not one a save made. */
    private static long pidOf(String rest) {
        int dash = rest.indexOf('-');
        if (dash <= 0 || dash > 10 || dash == rest.length() - 1) return -1;
        for (int i = 0; i < dash; i++) if (!Character.isDigit(rest.charAt(i))) return -1;
        return Long.parseLong(rest, 0, dash, 10);
    }

    /** True when this process can write it and no process holds a lock on it. */
    private static boolean unlocked(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            FileLock lock = ch.tryLock();
            if (lock == null) return false;
            lock.release();
            return true;
        } catch (IOException | OverlappingFileLockException e) {
            return false;
        }
    }

    private static String glob(String literal) {
        return literal.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
    }
}
