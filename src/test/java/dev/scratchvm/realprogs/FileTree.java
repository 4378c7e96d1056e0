package dev.scratchvm.realprogs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** What a directory tree holds, to compare a run's resulting files with another's. */
final class FileTree {
    private FileTree() {
    }

    /**
     * One line per entry: type, permissions, size and content hash (or link target), and the
     * modification time when it is older than {@code recent} (a time the program set, such as
     * touch -d or cp -p; the times of files it merely wrote differ between any two runs).
     */
    static Map<String, String> describe(Path root, FileTime recent) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (p.equals(root)) continue;
                String rel = root.relativize(p).toString();
                StringBuilder d = new StringBuilder();
                if (Files.isSymbolicLink(p)) {
                    d.append("link -> ").append(Files.readSymbolicLink(p));
                } else {
                    boolean dir = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                    boolean regular = Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
                    d.append(dir ? "dir " : regular ? "file " : "other ");
                    d.append(PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)));
                    // (a FIFO or device is never read: that could wait forever)
                    if (regular) d.append(' ').append(Files.size(p)).append(' ').append(sha256(p));
                    FileTime mtime = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                    if (mtime.compareTo(recent) < 0) d.append(" mtime ").append(mtime);
                }
                out.put(rel, d.toString());
            }
        }
        return out;
    }

    /** The first difference between two descriptions, or null. */
    static String firstDifference(Map<String, String> expected, Map<String, String> actual) {
        TreeMap<String, String> all = new TreeMap<>(expected);
        actual.forEach(all::putIfAbsent);
        for (String path : all.keySet()) {
            String e = expected.get(path), a = actual.get(path);
            if (e == null) return path + " exists only in the VM's run (" + a + ")";
            if (a == null) return path + " missing after the VM's run (natively: " + e + ")";
            if (!e.equals(a)) return path + ": natively " + e + ", in the VM " + a;
        }
        return null;
    }

    /** Copies a tree, keeping permissions, links and modification times (directories' too). */
    static void copy(Path from, Path to) throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(target);
                    Files.setPosixFilePermissions(target, Files.getPosixFilePermissions(p));
                    dirs.add(p);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        for (Path d : dirs.reversed()) {
            Files.setLastModifiedTime(to.resolve(from.relativize(d).toString()), Files.getLastModifiedTime(d));
        }
    }

    private static String sha256(Path p) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
