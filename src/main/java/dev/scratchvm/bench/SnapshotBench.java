package dev.scratchvm.bench;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import dev.scratchvm.vmm.Snapshots;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Save (SAVE to durable image) and restore (image opened, every checksum verified, to a
 * machine ready to run) for three VM shapes, each next to the plain-I/O floor of moving
 * the same bytes: one sequential write + fsync, or one sequential read. Then diff snapshots
 * of a large, mostly idle guest, and what KVM's dirty logging costs the system call path.
 */
record SnapshotBench(Bench.Profile profile, Path work, Bench.Programs programs) {
    private static final long MIB = 1L << 20;

    private record Shape(String name, Path program, long memory, String[] args, Double saveTargetMs, Double restoreTargetMs) {
    }

    List<Result> run() throws Exception {
        List<Shape> shapes = List.of(
                new Shape("16 MiB lab VM", programs.lab(), 16 * MIB, new String[0], null, 5.0),
                new Shape("512 MiB VM, 256 MiB written", programs.touchMemory(), 512 * MIB, new String[]{"256"}, null, 60.0),
                new Shape("1 GiB VM, 1 MiB touched", programs.touchMemory(), 1024 * MIB, new String[]{"1"}, 20.0, 10.0));
        List<Result> results = new ArrayList<>();
        for (Shape shape : shapes) results.addAll(measure(shape));
        results.addAll(diffs());          // before the large writes below, whose writeback would slow its fsyncs
        results.add(repeatedFull());
        results.add(dirtyLogCost());
        return results;
    }

    /**
     * Full snapshots of one running VM with 256 MiB written, as a controller takes them
     * again and again (the first, which also pays for the kernel's first use of that much
     * page cache since boot, is not counted), each next to writing and fsyncing the same
     * number of bytes right after it. Target: at least 0.8x the floor's speed.
     */
    private Result repeatedFull() throws Exception {
        Path image = work.resolve("full.img"), floorFile = work.resolve("floor.bin");
        List<Double> save = new ArrayList<>(), floor = new ArrayList<>();
        long bytes = 0;
        try (Workload w = new Workload(work); Machine m = w.boot(programs.touchMemory(), 512 * MIB, "256")) {
            if (!(m.run() instanceof Outcome.SaveRequested)) throw new IllegalStateException("touch_memory did not SAVE");
            for (int round = 0; round <= profile.rounds(); round++) {
                Files.deleteIfExists(image);
                Snapshots.SaveStats s = Snapshots.save(m, image, Snapshots.Kind.FULL);
                bytes = Files.size(image);
                double f = writeFloor(floorFile, bytes);
                if (round == 0) continue;
                save.add(s.totalNanos() / 1e6);
                floor.add(f);
            }
        } finally {
            Files.deleteIfExists(image);
            Files.deleteIfExists(floorFile);
        }
        Stats s = Stats.of(save), f = Stats.of(floor);
        return new Result("full snapshot, running VM, 256 MiB written", "ms", s, "write+fsync same bytes", f,
                ">= 0.8x floor speed", f.median() / s.median() >= 0.8,
                String.format("image %.1f MiB, %.0f MB/s", bytes / (double) MIB, bytes / 1e3 / s.median()));
    }

    /**
     * A 1 GiB guest with 4 MiB written, saved once in full, then rewriting 1 MiB and taking
     * a diff each round: the time of {@code Snapshots.save(..., DIFF)} (fetching KVM's log,
     * hashing the parent, writing, fsync, rename) and the diff's size.
     */
    private List<Result> diffs() throws Exception {
        int rounds = profile.rounds() + 2;
        List<Double> time = new ArrayList<>(), size = new ArrayList<>();
        String how;
        try (Workload w = new Workload(work);
             Machine m = w.boot(programs.dirtyLoop(), 1024 * MIB, "snap", "4", "1024", Integer.toString(rounds))) {
            if (!(m.run() instanceof Outcome.SaveRequested)) throw new IllegalStateException("dirty_loop did not SAVE");
            how = m.dirtyLog().manualProtect() ? "KVM_CLEAR_DIRTY_LOG" : "clear-on-read KVM_GET_DIRTY_LOG";
            Snapshots.save(m, work.resolve("diff-base.img"), Snapshots.Kind.FULL);
            for (int r = 1; r <= rounds; r++) {
                Outcome o = m.run();
                if (!(o instanceof Outcome.SaveRequested)) throw new IllegalStateException("dirty_loop: " + o);
                Path diff = work.resolve("diff-" + r + ".img");
                Snapshots.SaveStats s = Snapshots.save(m, diff, Snapshots.Kind.DIFF);
                if (r > 1) {   // the first diff also hashes the 4 MiB full parent
                    time.add(s.totalNanos() / 1e6);
                    size.add(Files.size(diff) / (double) MIB);
                }
            }
        } finally {
            for (int r = 0; r <= rounds; r++) Files.deleteIfExists(work.resolve(r == 0 ? "diff-base.img" : "diff-" + r + ".img"));
        }
        Stats t = Stats.of(time), s = Stats.of(size);
        return List.of(
                new Result("diff snapshot, 1 GiB VM, 1 MiB dirtied", "ms", t, null, null, "<= 5 ms", t.median() <= 5.0,
                        "fetch dirty log (" + how + "), write, fsync, rename"),
                new Result("diff image size, 1 GiB VM, 1 MiB dirtied", "MiB", s, null, null, "<= 1.2 MiB", s.median() <= 1.2,
                        null));
    }

    /** Guest read(2) into its memory (the VMM marks the page dirty; KVM logs) with dirty logging on vs off. */
    private Result dirtyLogCost() throws Exception {
        int n = profile.syscalls();
        List<Double> on = new ArrayList<>(), off = new ArrayList<>();
        try (Workload w = new Workload(work)) {
            readLoop(w, true, n);
            readLoop(w, false, n);
            for (int round = 0; round < profile.rounds(); round++) {
                on.add(readLoop(w, true, n));
                off.add(readLoop(w, false, n));
            }
        }
        Stats a = Stats.of(on), b = Stats.of(off);
        return new Result("guest read(/dev/zero, 64 bytes), dirty logging on", "us/call", a, "dirty logging off", b,
                "<= 1.05x off", a.median() <= 1.05 * b.median(), null);
    }

    private double readLoop(Workload w, boolean dirtyLog, int count) throws Exception {
        Path program = programs.dirtyLoop();
        var elf = dev.scratchvm.boot.ElfImage.parse(Files.readAllBytes(program), program.toString());
        try (Machine m = Machine.boot(w.config(16 * MIB).withDirtyLog(dirtyLog), elf,
                List.of(program.toString(), "read", Integer.toString(count)), List.of(), program.toString(), new byte[16])) {
            long start = System.nanoTime();
            Outcome o = m.run();
            long elapsed = System.nanoTime() - start;
            if (!(o instanceof Outcome.Exited e) || e.status() != 0) throw new IllegalStateException("dirty_loop read: " + o);
            return elapsed / 1000.0 / count;
        }
    }

    private List<Result> measure(Shape shape) throws Exception {
        Path image = work.resolve("bench.img"), floorFile = work.resolve("floor.bin");
        List<Double> save = new ArrayList<>(), pageCache = new ArrayList<>(), saveFloor = new ArrayList<>(), map = new ArrayList<>(),
                copy = new ArrayList<>(), readFloor = new ArrayList<>();
        long imageSize = 0, stored = 0;
        try (Workload w = new Workload(work)) {
            for (int round = 0; round < profile.rounds(); round++) {
                Files.deleteIfExists(work.resolve("ay_caramba"));
                // A first save: replacing an older image would add the cost of freeing it.
                Files.deleteIfExists(image);
                try (Machine m = w.boot(shape.program(), shape.memory(), shape.args())) {
                    Outcome o = m.run();
                    if (!(o instanceof Outcome.SaveRequested)) throw new IllegalStateException(shape.name() + ": " + o);
                    Snapshots.SaveStats s = Snapshots.save(m, image);
                    save.add(s.totalNanos() / 1e6);
                    stored = s.write().bytesWritten();
                    // GB/s of getting the image into the page cache: everything but the fsyncs.
                    pageCache.add(stored / (double) (s.totalNanos() - s.write().syncNanos()));
                }
                imageSize = Files.size(image);
                saveFloor.add(writeFloor(floorFile, imageSize));
                readFloor.add(readFloor(image, imageSize));
                map.add(restore(w, image, shape, ImageReader.Mode.MAP));
                copy.add(restore(w, image, shape, ImageReader.Mode.COPY));
            }
        } finally {
            Files.deleteIfExists(floorFile);
        }
        String size = String.format("image %.2f MiB on disk", imageSize / (double) MIB);
        Stats saveStats = Stats.of(save), mapStats = Stats.of(map);
        Double saveTarget = shape.saveTargetMs();
        List<Result> out = new ArrayList<>();
        if (stored >= 64 * MIB) {
            Stats gbs = Stats.of(pageCache);
            out.add(new Result("save " + shape.name() + " to page cache", "GB/s", gbs, null, null, ">= 1 GB/s",
                    gbs.median() >= 1.0, "everything but fsync: capture, scan, checksum, write"));
        }
        out.addAll(List.of(
                new Result("save " + shape.name(), "ms", saveStats, "write+fsync same bytes", Stats.of(saveFloor),
                        saveTarget == null ? null : "<= " + saveTarget.intValue() + " ms",
                        saveTarget == null ? null : saveStats.median() <= saveTarget,
                        size + String.format(", %.0f MB/s", stored / 1e3 / saveStats.median())),
                new Result("restore " + shape.name() + " (map)", "ms", mapStats, "sequential read same bytes",
                        Stats.of(readFloor), "<= " + shape.restoreTargetMs().intValue() + " ms",
                        mapStats.median() <= shape.restoreTargetMs(), null),
                new Result("restore " + shape.name() + " (copy)", "ms", Stats.of(copy), "sequential read same bytes",
                        Stats.of(readFloor), null, null, null)));
        return out;
    }

    private static double restore(Workload w, Path image, Shape shape, ImageReader.Mode mode) throws Exception {
        long start = System.nanoTime();
        try (Machine m = Snapshots.restore(image, w.config(shape.memory()), mode)) {
            return (System.nanoTime() - start) / 1e6;
        }
    }

    /** One sequential write of {@code bytes} bytes plus fsync, in milliseconds. */
    private static double writeFloor(Path file, long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            long chunk = Math.min(bytes, 8 * MIB);
            MemorySegment buf = arena.allocate(chunk, 4096);
            buf.fill((byte) 1);
            Files.deleteIfExists(file);
            long start = System.nanoTime();
            int fd = Libc.check("open", Libc.open(file.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0600));
            for (long done = 0; done < bytes; ) {
                long n = Libc.check("write", Libc.write(fd, buf, Math.min(chunk, bytes - done)));
                done += n;
            }
            Libc.fsync(fd);
            Libc.close(fd);
            return (System.nanoTime() - start) / 1e6;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One sequential read of the file (from the page cache, as restore reads it), in milliseconds. */
    private static double readFloor(Path file, long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            long chunk = Math.min(bytes, 8 * MIB);
            MemorySegment buf = arena.allocate(chunk, 4096);
            long start = System.nanoTime();
            int fd = Libc.check("open", Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0));
            for (long done = 0; done < bytes; ) {
                long n = Libc.check("read", Libc.read(fd, buf, chunk));
                if (n == 0) break;
                done += n;
            }
            Libc.close(fd);
            return (System.nanoTime() - start) / 1e6;
        }
    }
}
