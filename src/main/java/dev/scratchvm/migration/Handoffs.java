package dev.scratchvm.migration;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.MachineState;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's durable record of the VMs it receives, in its state directory, so that no kill
 * of the server loses a VM it acknowledged or runs one twice:
 * <ul>
 *   <li>before READY, the received VM is written to {@code ID.img} (fsynced) and the journal
 *       says {@code pending ID}; files a migration creates are journaled before they exist;</li>
 *   <li>at COMMIT the journal says {@code committed ID} (fsynced) before COMMITTED is sent;</li>
 *   <li>just before the guest's first instruction it says {@code started ID} and the image goes.</li>
 * </ul>
 * A restarted server ({@link #open}) aborts what was pending (image and created files removed),
 * hands back what was committed but never started, and answers status queries from the journal:
 * a migration it recorded as pending but not committed was aborted, for certain.
 * One server at a time owns a state directory (a lock held while it runs).
 *
 * <p>The journal's lines are always fsynced (a fraction of a millisecond). A live migration's
 * copy of guest memory (the spool) is fdatasynced only with {@link Durability#DISK}; by default
 * it stays in the page cache, which outlives the server process but not the host. Its
 * {@code committed} line then names the boot it belongs to, and a server restarted after the
 * host itself restarted reports such a VM lost instead of running whatever reached the disk.
 * That can only happen to a VM committed here that had not yet run its first instruction:
 * a window of milliseconds, the same in which a running VM dies with its host.
 */
public final class Handoffs implements AutoCloseable {
    /** Decided migrations kept in the journal when it is compacted at start. */
    private static final int KEEP = 1024;
    private static final String JOURNAL = "journal";

    private enum Step { PENDING, COMMITTED, STARTED, ABORTED }

    /** How far an arriving VM's copy is written before READY. */
    public enum Durability {
        /** The page cache: survives the server being killed, not the host (the default: no disk in the downtime). */
        PAGE_CACHE,
        /** The disk (fdatasync each round and before READY): survives the host too, at the disk's speed. */
        DISK
    }

    private final Durability durability;
    /** This boot of the host ({@code /proc/sys/kernel/random/boot_id}): what a page-cache copy is good for. */
    private final String boot;
    /** Migrations whose copy is only in the page cache, and the boot it was made in. */
    private final Map<String, String> volatileCopies = new java.util.HashMap<>();

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final FileChannel journal;
    private final Map<String, Step> steps = new LinkedHashMap<>();
    private final List<String> resumable = new ArrayList<>();
    private final List<String> recovered = new ArrayList<>();

    private Handoffs(Path dir, FileChannel lockChannel, FileLock lock, Durability durability, String boot) throws IOException {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.durability = durability;
        this.boot = boot;
        Map<String, List<Path>> created = replay();
        for (Map.Entry<String, Step> e : steps.entrySet()) {
            String id = e.getKey();
            switch (e.getValue()) {
                case PENDING -> {
                    // Killed before COMMIT was recorded: the client keeps the VM (or asks, and hears "aborted").
                    Files.deleteIfExists(image(id));
                    removeCreated(created.getOrDefault(id, List.of()));
                    e.setValue(Step.ABORTED);
                    recovered.add("aborted migration " + shortId(id) + " that was pending when the server stopped");
                }
                case COMMITTED -> {
                    String copyBoot = volatileCopies.get(id);
                    if (Files.isRegularFile(image(id), LinkOption.NOFOLLOW_LINKS)) {
                        volatileCopies.remove(id);   // an image is written whole and synced
                        resumable.add(id);
                    } else if (copyBoot != null && !copyBoot.equals(boot)) {
                        // Whatever reached the disk of a copy never synced may be torn: never run it.
                        e.setValue(Step.STARTED);
                        recovered.add("migration " + shortId(id) + " was committed here but the host restarted before its guest's first"
                                + " instruction; its memory was only in the page cache (serve --sync-spool writes it to disk), so the VM is lost");
                    } else if (imageFromSpool(id)) {
                        volatileCopies.remove(id);
                        resumable.add(id);
                    } else {
                        e.setValue(Step.STARTED);
                        recovered.add("migration " + shortId(id) + " was committed but its image " + image(id) + " is gone");
                    }
                }
                case STARTED, ABORTED -> Files.deleteIfExists(image(id));
            }
        }
        sweep();
        compact();
        this.journal = FileChannel.open(dir.resolve(JOURNAL), StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /**
     * Takes the state directory (created, mode 0700, if missing) and recovers from a server
     * that stopped with migrations in flight.
     *
     * @throws IOException with a one-line message if another server uses it or it cannot be read
     */
    public static Handoffs open(Path dir) throws IOException {
        return open(dir, Durability.PAGE_CACHE);
    }

    /** As {@link #open(Path)}, with the arriving VMs' copies written as far as {@code durability} says. */
    public static Handoffs open(Path dir, Durability durability) throws IOException {
        return open(dir, durability, bootId());
    }

    /** This boot's id; a server on a host without one treats every start as a new boot (page-cache copies are then never resumed). */
    private static String bootId() {
        try {
            String id = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
            if (id.matches("[0-9a-f-]{1,64}")) return id;
        } catch (IOException ignored) {
            // Below.
        }
        return "unknown-" + java.util.UUID.randomUUID();
    }

    /** As {@link #open(Path, Durability)}, as if the host's boot were {@code boot} (tests restart the host this way). */
    static Handoffs open(Path dir, Durability durability, String boot) throws IOException {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new IOException("state directory " + dir + " is in use by another server (choose another with --state-dir)");
        }
        try {
            return new Handoffs(dir, ch, lock, durability, boot);
        } catch (IOException | RuntimeException e) {
            lock.release();
            ch.close();
            throw e;
        }
    }

    /** What recovery did at start, for the log. */
    public List<String> recovered() {
        return List.copyOf(recovered);
    }

    /** Images of VMs committed to this server that never started: run them now. */
    public List<Path> resumable() {
        return resumable.stream().map(this::image).toList();
    }

    /** The id of a resumable image. */
    public static String idOf(Path image) {
        String name = image.getFileName().toString();
        return name.substring(0, name.length() - ".img".length());
    }

    Path image(String id) {
        return dir.resolve(id + ".img");
    }

    /** Records the VM as pending, then writes it durably: once COMMIT is recorded, a kill cannot lose it. */
    synchronized void prepare(String id, MachineState state, MemorySegment memory, PageFilter pages) throws ImageException, IOException {
        record(Step.PENDING, id, null, true);
        ImageWriter.write(image(id), state, memory, pages);
    }

    /**
     * Protocol 2: records the VM as pending and starts its durable copy, which follows the
     * rounds as they arrive ({@link Spool}); {@link Spool#finish} makes it complete before READY,
     * and the pending line durable with it. Until then a crash may lose the line, which changes
     * nothing: the spool's files are swept at start either way, and no client asks about a
     * migration before READY (it asks only after sending COMMIT).
     */
    synchronized Spool spool(String id, MemorySegment memory) throws IOException {
        record(Step.PENDING, id, null, false);
        boolean disk = durability == Durability.DISK;
        if (!disk) volatileCopies.put(id, boot);
        return new Spool(pages(id), state(id), memory, this::syncJournal, disk);
    }

    /** Makes every journal line written so far durable. */
    private void syncJournal() throws IOException {
        journal.force(false);
    }

    Path pages(String id) {
        return dir.resolve(id + ".pages");
    }

    Path state(String id) {
        return dir.resolve(id + ".state");
    }

    /** A VM that arrived in rounds and was committed but never started: its spool becomes an ordinary image. */
    private boolean imageFromSpool(String id) {
        if (!Files.isRegularFile(state(id), LinkOption.NOFOLLOW_LINKS) || !Files.isRegularFile(pages(id), LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(pages(id), StandardOpenOption.READ); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MachineState st = dev.scratchvm.image.StateCodec.decode(Files.readAllBytes(state(id)));
            if (ch.size() != st.memory().size()) throw new IOException("its pages file is " + ch.size() + " bytes, not " + st.memory().size());
            MemorySegment memory = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            ImageWriter.write(image(id), st, memory, PageFilter.of(allPages(st.memory().size())));
            Files.deleteIfExists(pages(id));
            Files.deleteIfExists(state(id));
            return true;
        } catch (IOException | RuntimeException e) {
            recovered.add("migration " + shortId(id) + " was committed but its pages could not be turned into an image: " + e.getMessage());
            return false;
        }
    }

    private static java.util.BitSet allPages(long bytes) {
        java.util.BitSet all = new java.util.BitSet();
        all.set(0, (int) (bytes / 4096));
        return all;
    }

    /** A file or directory this migration is about to create: removed again if the server stops before COMMIT. */
    synchronized void creating(String id, Path path) throws IOException {
        record(null, id, path, true);
    }

    /** COMMIT read: recorded durably before COMMITTED is sent. */
    synchronized void commit(String id) throws IOException {
        record(Step.COMMITTED, id, null, true);
    }

    /** The journal line of a step; a page-cache copy's commit names its boot. */
    private String line(Step step, String id) {
        String line = step.name().toLowerCase(java.util.Locale.ROOT) + " " + id;
        String copyBoot = volatileCopies.get(id);
        return step == Step.COMMITTED && copyBoot != null ? line + " " + copyBoot : line;
    }

    /** The migration did not commit: its image goes. Not synced: after a crash, pending means aborted anyway. */
    synchronized void abort(String id) {
        try {
            Files.deleteIfExists(image(id));
            Files.deleteIfExists(pages(id));
            Files.deleteIfExists(state(id));
            record(Step.ABORTED, id, null, false);
        } catch (IOException ignored) {
            // The journal still says pending, which a restart reads as aborted too.
        }
    }

    /** The guest is about to run: from now on, a restart must not run it again. */
    public synchronized void started(String id) throws IOException {
        // A page-cache copy needs no fsync here: a killed server still finds the line (the page
        // cache has it), and after a host restart the copy is never run, line or not.
        record(Step.STARTED, id, null, !volatileCopies.containsKey(id));
        resumable.remove(id);
        // The copies are dead from here on, but freeing a large file's pages takes milliseconds:
        // not the guest's. A restarted server sweeps whatever is left.
        Thread previous = removing;
        removing = Thread.ofVirtual().name("migration-remove-copy").start(() -> {
            join(previous);
            for (Path f : List.of(image(id), pages(id), state(id))) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // Swept at the next start.
                }
            }
        });
    }

    /** The removal of the last started VM's copies, or null. */
    private Thread removing;

    private static void join(Thread t) {
        if (t == null) return;
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The journal's answer to a status query, or null if this server never saw the migration. */
    synchronized Verdict verdict(String id) {
        Step s = steps.get(id);
        if (s == null) return null;
        return s == Step.COMMITTED || s == Step.STARTED ? Verdict.COMMITTED : s == Step.ABORTED ? Verdict.ABORTED : null;
    }

    private void record(Step step, String id, Path created, boolean sync) throws IOException {
        String line = created == null ? line(step, id)
                : "created " + id + " " + HexFormat.of().formatHex(created.toString().getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) journal.write(b);
        if (sync) journal.force(false);
        if (step != null) steps.put(id, step);
    }

    /** Reads the journal into {@link #steps}; returns what each migration created. A torn last line is ignored. */
    private Map<String, List<Path>> replay() throws IOException {
        Map<String, List<Path>> created = new LinkedHashMap<>();
        Path f = dir.resolve(JOURNAL);
        if (!Files.exists(f)) return created;
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            String[] w = line.split(" ");
            if (w.length < 2 || !w[1].matches("[0-9a-f]{64}")) continue;
            switch (w[0]) {
                case "pending" -> steps.put(w[1], Step.PENDING);
                case "committed" -> {
                    steps.put(w[1], Step.COMMITTED);
                    if (w.length == 3) volatileCopies.put(w[1], w[2]);
                }
                case "started" -> steps.put(w[1], Step.STARTED);
                case "aborted" -> steps.put(w[1], Step.ABORTED);
                case "created" -> {
                    if (w.length == 3 && w[2].matches("([0-9a-f]{2})+")) {
                        created.computeIfAbsent(w[1], k -> new ArrayList<>())
                                .add(Path.of(new String(HexFormat.of().parseHex(w[2]), StandardCharsets.UTF_8)));
                        steps.putIfAbsent(w[1], Step.PENDING);
                    }
                }
                default -> { }
            }
        }
        return created;
    }

    /**
     * Removes every file in the directory but the lock, the journal and the images to resume:
     * what a killed server was writing (an image or its temporary). The lock proves they are ours.
     */
    private void sweep() throws IOException {
        List<Path> stale;
        try (var files = Files.list(dir)) {
            stale = files.filter(f -> {
                String n = f.getFileName().toString();
                return !n.equals("lock") && !n.equals(JOURNAL) && !resumable.contains(n.endsWith(".img") ? idOf(f) : "");
            }).toList();
        }
        for (Path f : stale) {
            Files.deleteIfExists(f);
            recovered.add("removed " + f.getFileName() + ", left by a server that was stopped");
        }
    }

    /** Removes what a migration that never committed created, newest first; a directory in use stays. */
    private static void removeCreated(List<Path> paths) {
        for (int i = paths.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(paths.get(i));
            } catch (DirectoryNotEmptyException ignored) {
                // Someone else's files are in it now.
            } catch (IOException ignored) {
                // Best effort, as for a failed migration.
            }
        }
    }

    /** Rewrites the journal with one line per migration, the newest {@link #KEEP} decided ones. */
    private void compact() throws IOException {
        List<Map.Entry<String, Step>> all = new ArrayList<>(steps.entrySet());
        StringBuilder text = new StringBuilder();
        int skip = Math.max(0, all.size() - KEEP);
        for (int i = 0; i < all.size(); i++) {
            Map.Entry<String, Step> e = all.get(i);
            if (i < skip && e.getValue() != Step.COMMITTED) continue;
            text.append(line(e.getValue(), e.getKey())).append('\n');
        }
        Path tmp = dir.resolve(JOURNAL + ".new");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(JOURNAL), StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static String shortId(String id) {
        return id.substring(0, 8);
    }

    @Override
    public void close() {
        Thread r;
        synchronized (this) {
            r = removing;
        }
        join(r);
        try (lockChannel; journal) {
            lock.release();
        } catch (IOException ignored) {
            // Closing anyway; the lock goes with the descriptor.
        }
    }
}
