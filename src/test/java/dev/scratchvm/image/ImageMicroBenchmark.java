package dev.scratchvm.image;

import dev.scratchvm.image.ImageReader.Mode;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Rough timings of save, open (validation) and both restore modes, with a warm page cache.
 * Not a test: run by hand with
 * {@code java --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes dev.scratchvm.image.ImageMicroBenchmark [dir]}.
 */
public final class ImageMicroBenchmark {
    private static final int REPEAT = 9;

    public static void main(String[] args) throws Exception {
        Path dir = Files.createDirectories(Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir"), "scratchvm-bench"));
        scenario(dir, "16 MiB, lightly used (1 MiB + 64 scattered pages)", 16L << 20, g -> {
            for (long p = 256; p < 512; p++) g.fillPage(p, (int) p);
            for (long p = 1024; p < 4096; p += 48) g.fillPage(p, 1);
        });
        scenario(dir, "256 MiB, fully written", 256L << 20, g -> {
            for (long p = 0; p < (256L << 20) / 4096; p++) g.fillPage(p, (int) p);
        });
        scenario(dir, "1 GiB, 4 MiB touched", 1L << 30, g -> {
            for (long p = 256; p < 768; p++) g.fillPage(p, (int) p);         // 2 MiB "program"
            for (long p = 100_000; p < 100_256; p++) g.fillPage(p, 2);        // 1 MiB heap
            for (long p = 262_000; p < 262_144; p++) g.fillPage(p, 3);        // stack at the top
            for (long p = 5_000; p < 200_000; p += 1000) g.fillPage(p, 4);    // scattered pages
        });
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) Files.delete(p);
        }
        Files.delete(dir);
    }

    interface Fill {
        void into(GuestMemory g);
    }

    private static void scenario(Path dir, String title, long size, Fill fill) throws Exception {
        Path image = dir.resolve("bench.img");
        System.out.println("== " + title);
        long[] write = new long[REPEAT], sync = new long[REPEAT], open = new long[REPEAT], copy = new long[REPEAT],
                map = new long[REPEAT], mapTouch = new long[REPEAT], writeAll = new long[REPEAT];
        ImageWriter.Result last = null;
        try (GuestMemory guest = new GuestMemory(size)) {
            fill.into(guest);
            PageFilter resident = residentFilter(guest.segment);
            for (int i = 0; i < REPEAT; i++) {
                last = ImageWriter.write(image, TestStates.sample(size), guest.segment, resident);
                write[i] = last.elapsedNanos();
                sync[i] = last.syncNanos();
                if (size >= 1L << 30) writeAll[i] = ImageWriter.write(image, TestStates.sample(size), guest.segment,
                        PageFilter.ALL).elapsedNanos();
                long t0 = System.nanoTime();
                try (ImageReader r = ImageReader.open(image)) {
                    open[i] = System.nanoTime() - t0;
                    try (GuestMemory target = new GuestMemory(size)) {
                        long t1 = System.nanoTime();
                        r.restoreMemory(target.segment, Mode.COPY);
                        copy[i] = System.nanoTime() - t1;
                    }
                    try (GuestMemory target = new GuestMemory(size)) {
                        long t1 = System.nanoTime();
                        r.restoreMemory(target.segment, Mode.MAP);
                        map[i] = System.nanoTime() - t1;
                        touchStoredPages(target.segment, r.pageMap());
                        mapTouch[i] = System.nanoTime() - t1;
                    }
                }
            }
        }
        System.out.printf("   image %.1f MiB, %d pages stored in %d runs%n", last.bytesWritten() / 1048576.0,
                last.pagesStored(), last.runs());
        System.out.printf("   save (filter=resident)  %s  (of which fsync %s)  -> %s%n", ms(write), ms(sync),
                rate(last.bytesWritten(), median(write) - median(sync)));
        if (size >= 1L << 30) System.out.printf("   save (filter=ALL)       %s%n", ms(writeAll));
        System.out.printf("   open + validate         %s  -> %s%n", ms(open), rate(last.bytesWritten(), median(open)));
        System.out.printf("   restore COPY            %s%n", ms(copy));
        System.out.printf("   restore MAP             %s  (+ guest reading every stored page: %s)%n", ms(map), ms(mapTouch));
    }

    /** What a VMM might use when it has no dirty log: pages the kernel has populated (not safe with swap). */
    private static PageFilter residentFilter(MemorySegment m) {
        long pages = m.byteSize() / 4096;
        byte[] bits = new byte[(int) pages];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment vec = a.allocate(pages);
            Libc.check("mincore", Libc.mincore(m.address(), m.byteSize(), vec));
            MemorySegment.copy(vec, ValueLayout.JAVA_BYTE, 0, bits, 0, (int) pages);
        }
        return page -> (bits[(int) page] & 1) != 0;
    }

    private static void touchStoredPages(MemorySegment m, PageMap map) {
        long sum = 0;
        for (PageMap.Run run : map.runs()) {
            for (long p = run.firstPage(); p < run.firstPage() + run.pageCount(); p++) {
                sum += m.get(ValueLayout.JAVA_LONG, p * 4096);
            }
        }
        if (sum == 42) System.out.print("");
    }

    private static long median(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String ms(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return String.format("median %7.2f ms (min %.2f)", s[s.length / 2] / 1e6, s[0] / 1e6);
    }

    private static String rate(long bytes, long nanos) {
        return String.format("%.2f GB/s", bytes / (double) nanos);
    }
}
