package dev.scratchvm.migration;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Server side of {@code --with-files}: puts the guest's open files under the server's root
 * before the VM is restored, and takes them away again if the migration does not commit.
 *
 * <p>The rule, per file: missing → created (with any missing parent directories); present with
 * the same size and CRC32C as when the VM was saved → left alone; present and different →
 * the VM is refused, so a server never loses a file it already had. Paths from the wire
 * may not contain "." or "..", and no existing component may be a symbolic link, so nothing
 * outside the root is ever written. A file is written to a temporary name, synced, and linked
 * into place, which fails rather than replace a file that appeared meanwhile.
 */
final class FileInstaller implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final Path root;
    private final List<OpenFileState> files;
    private final List<Integer> wanted = new ArrayList<>();
    private final Deque<Path> created = new ArrayDeque<>();
    private final Journal journal;
    private Sink open;

    /** Hears of every path before it is created, so that a server killed meanwhile can remove it. */
    @FunctionalInterface
    interface Journal {
        Journal NONE = path -> { };

        void creating(Path path) throws IOException;
    }

    private FileInstaller(Path root, List<OpenFileState> files, Journal journal) {
        this.root = root;
        this.files = files;
        this.journal = journal;
    }

    /** Checks every regular file of the state against the root; refuses conflicts up front. */
    static FileInstaller plan(Path root, KernelState kernel) throws MigrationException {
        return plan(root, kernel, Journal.NONE);
    }

    /** As {@link #plan(Path, KernelState)}, telling {@code journal} of each path before creating it. */
    static FileInstaller plan(Path root, KernelState kernel, Journal journal) throws MigrationException {
        Path real;
        try {
            real = root.toRealPath();
        } catch (IOException e) {
            throw MigrationException.local("server root " + root + " is not accessible: " + e.getMessage());
        }
        FileInstaller fi = new FileInstaller(real, kernel.files(), journal);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < kernel.files().size(); i++) {
            OpenFileState f = kernel.files().get(i);
            if (f.kind() == FileKind.REGULAR && seen.add(f.path()) && fi.missing(f)) fi.wanted.add(i);
        }
        return fi;
    }

    /** Indexes (into the state's file list) of the files the client must send. */
    List<Integer> wanted() {
        return List.copyOf(wanted);
    }

    /** True when the file must be sent; false when an identical one is already here. */
    private boolean missing(OpenFileState f) throws MigrationException {
        List<String> parts = GuestPaths.components(f.path());
        Path p = root;
        for (int i = 0; i < parts.size(); i++) {
            p = p.resolve(parts.get(i));
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                return true;
            } catch (IOException e) {
                throw MigrationException.local("cannot inspect " + shown(f) + " on the server: " + e.getMessage());
            }
            boolean last = i == parts.size() - 1;
            if (a.isSymbolicLink()) {
                throw MigrationException.rejected(shown(f) + ": " + (last ? "it" : "/" + String.join("/", parts.subList(0, i + 1)))
                        + " is a symbolic link on the server; --with-files writes only plain files and directories");
            }
            if (!last && !a.isDirectory()) {
                throw MigrationException.rejected(shown(f) + ": /" + String.join("/", parts.subList(0, i + 1)) + " is not a directory on the server");
            }
            if (last && !a.isRegularFile()) throw MigrationException.rejected(shown(f) + " is not a regular file on the server");
        }
        FileFingerprint here = fingerprint(p);
        if (here.size() == f.fingerprint().size() && here.crc32c() == f.fingerprint().crc32c()) return false;
        throw MigrationException.rejected(shown(f) + " already exists on the server with different content (the server keeps its file)");
    }

    /** An incoming file: a temporary file next to its final name. */
    static final class Sink {
        final int index;
        final Path target, tmp;
        final FileChannel ch;
        final CRC32C crc = new CRC32C();
        final int mode;
        long written;

        Sink(int index, Path target, Path tmp, FileChannel ch, int mode) {
            this.index = index;
            this.target = target;
            this.tmp = tmp;
            this.ch = ch;
            this.mode = mode;
        }

        void write(ByteBuffer b) throws MigrationException {
            crc.update(b.duplicate());
            try {
                while (b.hasRemaining()) written += ch.write(b);
            } catch (IOException e) {
                throw MigrationException.local("cannot write " + target + ": " + e.getMessage());
            }
        }
    }

    /** Starts receiving a file the plan asked for; its size must be the one saved in the state. */
    Sink begin(Messages.FileHeader h) throws MigrationException {
        if (!wanted.contains(h.index())) throw MigrationException.protocol("FILE " + h.index() + " was not asked for");
        OpenFileState f = files.get(h.index());
        if (h.size() != f.fingerprint().size()) {
            throw MigrationException.protocol(shown(f) + " is sent with " + h.size() + " bytes but had "
                    + f.fingerprint().size() + " when the VM was saved");
        }
        Path target = GuestPaths.under(root, f.path());
        try {
            makeParents(target.getParent());
            Path tmp = target.resolveSibling("." + target.getFileName() + "." + HexFormat.of().toHexDigits(RANDOM.nextLong()) + ".migrating");
            journal.creating(tmp);
            open = new Sink(h.index(), target, tmp, FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW), h.mode() & 0777);
            return open;
        } catch (IOException e) {
            throw MigrationException.local("cannot create " + shown(f) + " on the server: " + e.getMessage());
        }
    }

    /** Checks the contents against the saved fingerprint and links the file into place. */
    void finish(Sink s) throws MigrationException {
        OpenFileState f = files.get(s.index);
        try (FileChannel ch = s.ch) {
            if (s.written != f.fingerprint().size() || (int) s.crc.getValue() != f.fingerprint().crc32c()) {
                throw MigrationException.rejected(shown(f) + " arrived with different content than when the VM was saved");
            }
            Files.setPosixFilePermissions(s.tmp, permissions(s.mode == 0 ? 0644 : s.mode));
            ch.force(true);
        } catch (IOException e) {
            throw MigrationException.local("cannot write " + shown(f) + " on the server: " + e.getMessage());
        }
        try {
            Files.createLink(s.target, s.tmp);
            created.push(s.target);
            // After the link, not before: a file that appeared meanwhile is someone else's, never removed.
            journal.creating(s.target);
            Files.delete(s.tmp);
            open = null;
            syncDirectory(s.target.getParent());
        } catch (FileAlreadyExistsException e) {
            throw MigrationException.rejected(shown(f) + " appeared on the server while the VM was arriving");
        } catch (IOException e) {
            throw MigrationException.local("cannot install " + shown(f) + " on the server: " + e.getMessage());
        }
    }

    private void makeParents(Path dir) throws IOException {
        if (dir.equals(root) || Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return;
        makeParents(dir.getParent());
        journal.creating(dir);
        Files.createDirectory(dir);
        created.push(dir);
    }

    /** The migration committed: the files stay. */
    void commit() {
        created.clear();
    }

    /** The migration failed: remove what this migration created, newest first. */
    void rollback() {
        if (open != null) {
            try {
                open.ch.close();
                Files.deleteIfExists(open.tmp);
            } catch (IOException ignored) {
                // Best effort; a stray ".migrating" file is inert.
            }
            open = null;
        }
        while (!created.isEmpty()) {
            try {
                Files.deleteIfExists(created.pop());
            } catch (IOException ignored) {
                // A directory someone else put files in stays; that is correct.
            }
        }
    }

    @Override
    public void close() {
        rollback();
    }

    static FileFingerprint fingerprint(Path p) throws MigrationException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            CRC32C crc = new CRC32C();
            long size = 0;
            while (ch.read(buf.clear()) > 0) {
                size += buf.flip().remaining();
                crc.update(buf);
            }
            return new FileFingerprint(size, 0, (int) crc.getValue());
        } catch (IOException e) {
            throw MigrationException.local("cannot read " + p + ": " + e.getMessage());
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = PosixFilePermission.values();   // OWNER_READ ... OTHERS_EXECUTE, high bit first
        for (int i = 0; i < 9; i++) if ((mode & (0400 >> i)) != 0) s.add(bits[i]);
        return s;
    }

    private static String shown(OpenFileState f) {
        return "file " + GuestPaths.printable(f.path());
    }
}
