package dev.scratchvm.vmm;

import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Xcr;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * CPU feature checks between a saved guest and this host: the guest may have been
 * given features (AVX-512, say) that this host's KVM cannot provide, and running it
 * here would crash it later with an invalid-opcode fault.
 */
public final class CpuFeatures {
    /** Extended state the VMM enables: x87, SSE, AVX, and the AVX-512 components (all fit the 4 KiB XSAVE area). */
    private static final long XCR0_WANTED = 0b1110_0111;

    private CpuFeatures() {
    }

    static Optional<CpuidEntry> find(List<CpuidEntry> table, int function, int index) {
        return table.stream().filter(e -> e.function() == function && e.index() == index).findFirst();
    }

    /** XCR0 to give the guest: what the host supports, limited to the components the VMM handles. */
    public static long xcr0(List<CpuidEntry> supported) {
        long mask = find(supported, 0xd, 0).map(e -> Integer.toUnsignedLong(e.eax()) | ((long) e.edx() << 32)).orElse(3L);
        return (mask & XCR0_WANTED) | 1;
    }

    /**
     * Bytes of the standard-format XSAVE area that the components in {@code xcr0} use: the end
     * of the highest one (CPUID 0xD subleaf n: size in eax, offset in ebx), at least the
     * legacy area and header (576), as Linux sizes a signal frame's FPU state.
     */
    static int xsaveSize(List<CpuidEntry> table, long xcr0) {
        int end = 576;
        for (int c = 2; c < 64; c++) {
            if ((xcr0 >> c & 1) == 0) continue;
            int comp = c;
            end = Math.max(end, find(table, 0xd, comp).map(e -> e.ebx() + e.eax()).orElse(0));
        }
        return end;
    }

    /** x86-64 AT_HWCAP: CPUID.1:EDX. */
    public static long hwcap(List<CpuidEntry> table) {
        return find(table, 1, 0).map(e -> Integer.toUnsignedLong(e.edx())).orElse(0L);
    }

    /** Feature registers compared on restore: leaf, subleaf, register name. */
    private record FeatureWord(int leaf, int index, String register) {
        int of(CpuidEntry e) {
            return switch (register) {
                case "eax" -> e.eax();
                case "ebx" -> e.ebx();
                case "ecx" -> e.ecx();
                default -> e.edx();
            };
        }
    }

    private static final List<FeatureWord> FEATURE_WORDS = List.of(
            new FeatureWord(1, 0, "ecx"), new FeatureWord(1, 0, "edx"),
            new FeatureWord(7, 0, "ebx"), new FeatureWord(7, 0, "ecx"), new FeatureWord(7, 0, "edx"),
            new FeatureWord(0xd, 1, "eax"), new FeatureWord(0x80000001, 0, "ecx"), new FeatureWord(0x80000001, 0, "edx"));

    /** Bits that KVM changes at run time from guest state, not host capability. */
    private static int dynamicBits(FeatureWord w) {
        if (w.leaf() == 1 && w.register().equals("ecx")) return 1 << 27;   // OSXSAVE follows CR4
        if (w.leaf() == 7 && w.register().equals("ecx")) return 1 << 4;    // OSPKE follows CR4
        return 0;
    }

    /** Empty when the host can run a guest that was given {@code saved}; otherwise what is missing. */
    public static List<String> missing(List<CpuidEntry> saved, List<Xcr> savedXcrs, List<CpuidEntry> host) {
        List<String> missing = new ArrayList<>();
        for (FeatureWord w : FEATURE_WORDS) {
            Optional<CpuidEntry> s = find(saved, w.leaf(), w.index());
            if (s.isEmpty()) continue;
            int want = w.of(s.get()) & ~dynamicBits(w);
            int have = find(host, w.leaf(), w.index()).map(w::of).orElse(0);
            int lacking = want & ~have;
            if (lacking != 0) {
                missing.add(String.format("CPUID.%x.%d:%s bits 0x%08x", w.leaf(), w.index(), w.register(), lacking));
            }
        }
        long hostXcr0 = xcr0(host);
        for (Xcr x : savedXcrs) {
            if (x.index() == 0 && (x.value() & ~hostXcr0) != 0) {
                missing.add(String.format("XCR0 state components 0x%x", x.value() & ~hostXcr0));
            }
        }
        return missing;
    }
}
