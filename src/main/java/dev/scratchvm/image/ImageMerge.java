package dev.scratchvm.image;

import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.NativeException;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

/**
 * {@code scratchvm image merge CHAIN... OUT}: folds a full image and its diffs into one full
 * image holding the top image's state and the memory the chain rebuilds, written atomically
 * like any image. The inputs are verified as for a restore (each diff's parent by SHA-256).
 */
public final class ImageMerge {
    private ImageMerge() {
    }

    /**
     * @param chain the images, base first; a single diff means "follow its parents"
     * @param out   the merged full image (may be one of the inputs: it is replaced by rename)
     */
    public static ImageWriter.Result merge(List<Path> chain, Path out) throws ImageException {
        try (ImageChain c = chain.size() == 1 ? ImageChain.open(chain.getFirst()) : ImageChain.open(chain)) {
            long size = c.top().state().memory().size();
            long addr = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
            if (addr < 0) throw new NativeException("mmap of " + (size >> 20) + " MiB for merging", (int) -addr);
            try {
                MemorySegment memory = MemorySegment.ofAddress(addr).reinterpret(size);
                c.restoreMemory(memory, ImageReader.Mode.COPY);
                // Only pages some image stored can be non-zero; the rest were never touched here.
                BitSet stored = new BitSet();
                for (ImageReader r : c.images()) {
                    for (PageMap.Run run : r.pageMap().runs()) {
                        if (!run.zero()) stored.set((int) run.firstPage(), (int) run.firstPage() + run.pageCount());
                    }
                }
                return ImageWriter.write(out, new Snapshot(c.top().state(), memory, PageFilter.of(stored)), null);
            } finally {
                Libc.munmap(addr, size);
            }
        }
    }
}
