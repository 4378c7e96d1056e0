package dev.scratchvm.migration;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;

/**
 * The mark {@code FILE.migrating} beside an image being sent: written (and synced) before
 * COMMIT goes out, removed once the outcome is known. A sender killed in between leaves it,
 * and then the image must not be restored as it is — the server may be running that VM — until
 * the server's record says how the migration ended (the next {@code migrate FILE} asks).
 *
 * @param to the server
 * @param id the migration's id, which the server's record is kept by
 */
public record InFlight(Endpoint to, byte[] id) {

    public static Path markOf(Path image) {
        return image.resolveSibling(image.getFileName() + ".migrating");
    }

    /** Writes the mark durably. */
    public static void mark(Path image, Endpoint to, byte[] id) throws IOException {
        Path mark = markOf(image);
        String text = "to=" + to + "\nid=" + HexFormat.of().formatHex(id) + "\n";
        try (FileChannel ch = FileChannel.open(mark, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
        try (FileChannel dir = FileChannel.open(mark.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    /** The mark beside {@code image}, or null if there is none. */
    public static InFlight read(Path image) throws IOException {
        String text;
        try {
            text = Files.readString(markOf(image), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        }
        String to = null, id = null;
        for (String line : text.split("\n")) {
            if (line.startsWith("to=")) to = line.substring(3);
            if (line.startsWith("id=")) id = line.substring(3);
        }
        if (to == null || id == null || !id.matches("[0-9a-f]{64}")) {
            throw new IOException(markOf(image) + " is damaged; the migration it marks is in doubt: "
                    + "restore " + image + " only if you know the server did not run the VM, after removing the mark");
        }
        try {
            return new InFlight(Endpoint.parse(to, markOf(image).toString(), false), HexFormat.of().parseHex(id));
        } catch (IllegalArgumentException e) {
            throw new IOException(markOf(image) + " is damaged: " + e.getMessage());
        }
    }

    public static void clear(Path image) throws IOException {
        Files.deleteIfExists(markOf(image));
    }

    /** One line for messages. */
    public String describe(Path image) {
        return image + " was being migrated to " + to + " (migration "
                + HexFormat.of().formatHex(id, 0, 4) + ") when its sender stopped";
    }
}
