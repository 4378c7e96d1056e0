package dev.scratchvm.migration;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * The secret shared by client and server. Both sides prove they know it with HMAC-SHA256 over
 * the handshake before any VM state moves. By default it lives in
 * {@code $XDG_CONFIG_HOME/scratchvm/migration.key} (else {@code ~/.config/scratchvm/migration.key})
 * and is created there, mode 0600, on first use, so a client and a server on one host agree
 * without any flag; for two hosts, copy the file.
 */
public final class MigrationKey {
    static final int MIN_BYTES = 16, MAX_FILE_BYTES = 4096;
    private static final Set<PosixFilePermission> GROUP_OR_OTHER = Set.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private final SecretKeySpec key;
    private final Path path;
    private final boolean created;

    private MigrationKey(byte[] secret, Path path, boolean created) {
        this.key = new SecretKeySpec(secret, "HmacSHA256");
        this.path = path;
        this.created = created;
    }

    /** The default key file for this user. */
    public static Path defaultPath() {
        String xdg = System.getenv("XDG_CONFIG_HOME");
        Path config = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".config");
        return config.resolve("scratchvm").resolve("migration.key");
    }

    /**
     * Loads the key from {@code explicit}, which must exist, or from the default file, which is
     * created when missing.
     */
    public static MigrationKey load(Path explicit) throws MigrationException {
        return explicit != null ? read(explicit, false) : loadOrCreate(defaultPath());
    }

    /** Reads the key at {@code path}, creating it first when it does not exist. */
    static MigrationKey loadOrCreate(Path path) throws MigrationException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return read(path, false);
        return read(path, create(path));
    }

    /** A key from bytes, for tests and tools. */
    static MigrationKey of(byte[] secret) {
        return new MigrationKey(secret.clone(), null, false);
    }

    /** Where the key came from (null for {@link #of}). */
    public Path path() {
        return path;
    }

    /** True when this call created the default key file. */
    public boolean created() {
        return created;
    }

    /** HMAC-SHA256 of {@code label}, a zero byte, then each part. */
    byte[] proof(String label, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(label.getBytes(StandardCharsets.US_ASCII));
            mac.update((byte) 0);
            for (byte[] p : parts) mac.update(p);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Constant-time comparison, so timing reveals nothing about a correct MAC. */
    static boolean same(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    private static MigrationKey read(Path path, boolean created) throws MigrationException {
        try {
            PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class);
            if (!a.isRegularFile()) throw MigrationException.local("key file " + path + " is not a regular file");
            Set<PosixFilePermission> loose = a.permissions();
            loose.retainAll(GROUP_OR_OTHER);
            if (!loose.isEmpty()) {
                throw MigrationException.local("key file " + path + " is accessible by other users (mode "
                        + PosixFilePermissions.toString(a.permissions()) + "); run: chmod 600 " + path);
            }
            if (a.size() > MAX_FILE_BYTES) throw MigrationException.local("key file " + path + " is larger than " + MAX_FILE_BYTES + " bytes");
            byte[] secret = new String(Files.readAllBytes(path), StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8);
            if (secret.length < MIN_BYTES) {
                throw MigrationException.local("key file " + path + " holds " + secret.length + " bytes; a key needs at least " + MIN_BYTES);
            }
            return new MigrationKey(secret, path, created);
        } catch (NoSuchFileException e) {
            throw MigrationException.local("key file " + path + " does not exist");
        } catch (IOException e) {
            throw MigrationException.local("cannot read key file " + path + ": " + e.getMessage());
        }
    }

    /**
     * Creates the key file with 32 random bytes (as hex) without ever replacing one: the new
     * file is linked into place, which fails if another process created it first; then that
     * one is used. Returns whether this call created it.
     */
    private static boolean create(Path path) throws MigrationException {
        Path dir = path.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            tmp = Files.createTempFile(dir, ".migration.key.", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            Files.writeString(tmp, HexFormat.of().formatHex(secret) + "\n");
            try {
                Files.createLink(path, tmp);
                return true;
            } catch (FileAlreadyExistsException e) {
                return false;
            }
        } catch (IOException e) {
            throw MigrationException.local("cannot create key file " + path + ": " + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // A stray temporary file is harmless: it is 0600 and never read.
                }
            }
        }
    }
}
