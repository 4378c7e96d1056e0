package dev.scratchvm.realprogs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** The directory every applet invocation starts from (copied afresh for each run). */
final class Fixture {
    private Fixture() {
    }

    static final String TEXT = """
            apple:red:3
            banana:yellow:12
            cherry:red:7
            apple:green:5
            date:brown:1
            foo bar baz
            hello world foo
            """;

    static void create(Path dir, Path busybox, FileTime time) throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("sub/deep"));
        Files.createDirectories(dir.resolve("emptydir"));
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("in.txt"), TEXT);
        Files.writeString(dir.resolve("in2.txt"), TEXT.replace("cherry:red:7", "cherry:dark red:8"));
        Files.writeString(dir.resolve("gz2.txt"), TEXT);
        Files.writeString(dir.resolve("nums.txt"), "42\n7\n100\n3\n7\n");
        Files.writeString(dir.resolve("sorted.txt"), "a\na\nb\nc\nc\nc\n");
        Files.writeString(dir.resolve("tabs.txt"), "a\tb\tc\n\tindented\n");
        Files.writeString(dir.resolve("crlf.txt"), "one\r\ntwo\r\n");
        Files.writeString(dir.resolve("calc.txt"), "2 3 + 4 * p\n");
        Files.writeString(dir.resolve("list.txt"), "in.txt\nnums.txt\n");
        Files.writeString(dir.resolve("empty"), "");
        byte[] data = new byte[256 + 32];
        for (int i = 0; i < 256; i++) data[i] = (byte) i;
        System.arraycopy("hello strings here\0more text\n".getBytes(), 0, data, 256, 29);
        Files.write(dir.resolve("data.bin"), data);
        Files.writeString(dir.resolve("sub/a.txt"), "hello from a\n");
        Files.writeString(dir.resolve("sub/b.txt"), "b file\n");
        Files.writeString(dir.resolve("sub/deep/c.txt"), "deep hello\n");
        Files.createSymbolicLink(dir.resolve("lnk"), Path.of("in.txt"));
        // The users and groups of this host that own the files: the VM reads the root's /etc,
        // the native run the host's, and both must name them alike.
        Files.writeString(dir.resolve("etc/passwd"), entries(Path.of("/etc/passwd"), 2));
        Files.writeString(dir.resolve("etc/group"), entries(Path.of("/etc/group"), 2));
        // Archives and sums made by the native busybox, for the applets that read them.
        for (String cmd : List.of("tar -cf arch.tar sub in.txt", "gzip -c in.txt > in.txt.gz", "bzip2 -c in.txt > in.txt.bz2",
                "cpio -o -H newc < list.txt > arch.cpio", "md5sum in.txt nums.txt > sums.md5", "base64 in.txt > b64.txt")) {
            String[] words = cmd.split(" ", 2);
            Process p = new ProcessBuilder("/bin/bash", "-c", "exec -a " + words[0] + " '" + busybox + "' " + words[1])
                    .directory(dir.toFile()).redirectErrorStream(true).start();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("fixture: " + cmd + " failed: " + new String(p.getInputStream().readAllBytes()));
            }
        }
        setTimes(dir, time);
    }

    /** The lines of a passwd/group file for uid/gid 0 and this process's ids (field {@code idField}). */
    private static String entries(Path file, int idField) throws IOException {
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        long gid = new com.sun.security.auth.module.UnixSystem().getGid();
        StringBuilder out = new StringBuilder();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.split(":");
            if (f.length <= idField) continue;
            String id = f[idField];
            if (id.equals("0") || id.equals(Long.toString(uid)) || id.equals(Long.toString(gid))) out.append(line).append('\n');
        }
        return out.toString();
    }

    private static void setTimes(Path dir, FileTime time) throws IOException {
        List<Path> all = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(all::add);
        }
        for (Path p : all) {
            if (!Files.isSymbolicLink(p)) Files.setLastModifiedTime(p, time);
        }
    }
}
