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
 * the same bytes: one sequential write + fsync, or one sequential read.
 */
record SnapshotBench(Bench.Profile profile, Path work, Bench.Programs programs) {
    private static final long MIB = 1L << 20;

    private record Shape(String name, Path program, long memory, String[] args, Double saveTargetMs, Double restoreTargetMs) {
    }

    List<Result> run() throws Exception {
        List<Shape> shapes = List.of(
                new Shape("16 MiB lab VM", programs.lab(), 16 * MIB, new String[0], null, 5.0),
                new Shape("256 MiB VM, 240 MiB written", programs.touchMemory(), 256 * MIB, new String[]{"240"}, null, 60.0),
                new Shape("1 GiB VM, 1 MiB touched", programs.touchMemory(), 1024 * MIB, new String[]{"1"}, 20.0, 10.0));
        List<Result> results = new ArrayList<>();
        for (Shape shape : shapes) results.addAll(measure(shape));
        return results;
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
