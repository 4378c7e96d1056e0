package dev.scratchvm.image;

import dev.scratchvm.boot.LongMode;
import dev.scratchvm.x86.Msr;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.scratchvm.image.KernelRules.hex;

/** Which MSRs an image may hold and with what values: the VMM's own exactly, the guest's within range. */
final class MsrRules {
    /**
     * The MSRs an image may hold: TSC, SYSENTER_CS/ESP/EIP, MISC_ENABLE, PAT, STAR, LSTAR,
     * CSTAR, SFMASK, KERNEL_GS_BASE, TSC_AUX. Anything else (KVM's paravirtual MSRs above all,
     * which make KVM write into guest memory at an address the MSR names) is refused.
     */
    static final List<Integer> SAVED_MSRS = List.of(0x10, 0x174, 0x175, 0x176, 0x1a0, 0x277,
            LongMode.MSR_STAR, LongMode.MSR_LSTAR, LongMode.MSR_CSTAR, LongMode.MSR_SFMASK, 0xC0000102, 0xC0000103);
    private static final int SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176,
            PAT = 0x277, KERNEL_GS_BASE = 0xC0000102, TSC_AUX = 0xC0000103;
    private static final Map<Integer, String> MSR_NAMES = Map.of(LongMode.MSR_STAR, "STAR", LongMode.MSR_LSTAR, "LSTAR",
            LongMode.MSR_CSTAR, "CSTAR", LongMode.MSR_SFMASK, "SFMASK", SYSENTER_CS, "SYSENTER_CS",
            SYSENTER_ESP, "SYSENTER_ESP", SYSENTER_EIP, "SYSENTER_EIP", PAT, "PAT", KERNEL_GS_BASE, "KERNEL_GS_BASE", TSC_AUX, "TSC_AUX");

    private MsrRules() {
    }

    /** The first broken rule, naming the MSR, or null. */
    static String check(List<Msr> msrs) {
        Map<Integer, Long> values = new HashMap<>();
        for (Msr m : msrs) {
            if (!SAVED_MSRS.contains(m.index())) return "vCPU MSR " + hex(m.index() & 0xffffffffL) + " is not one ScratchVM saves";
            if (values.put(m.index(), m.value()) != null) return "vCPU MSR " + name(m.index()) + " appears twice";
        }
        for (Msr own : LongMode.syscallMsrs()) {
            Long v = values.get(own.index());
            // CSTAR may be missing where the host cannot save it; the others make SYSCALL work at all.
            if (v == null && own.index() == LongMode.MSR_CSTAR) continue;
            if (v == null) return "vCPU MSR " + name(own.index()) + " is missing";
            if (v != own.value()) {
                return "vCPU MSR " + name(own.index()) + " is " + hex(v) + ", ScratchVM sets " + hex(own.value());
            }
        }
        for (int sysenter : new int[]{SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP}) {
            Long v = values.get(sysenter);
            if (v != null && v != 0) return "vCPU MSR " + name(sysenter) + " is " + hex(v) + ", ScratchVM leaves it 0";
        }
        Long kernelGs = values.get(KERNEL_GS_BASE);
        if (kernelGs != null && !VcpuRules.canonical(kernelGs)) return "vCPU MSR KERNEL_GS_BASE " + hex(kernelGs) + " is not canonical";
        Long pat = values.get(PAT);
        if (pat != null && !validPat(pat)) return "vCPU MSR PAT " + hex(pat) + " has a reserved memory type";
        Long tscAux = values.get(TSC_AUX);
        if (tscAux != null && (tscAux >>> 32) != 0) return "vCPU MSR TSC_AUX " + hex(tscAux) + " has more than 32 bits";
        return null;
    }

    /** Each of the 8 PAT entries is UC, WC, WT, WP, WB or UC- (0, 1, 4, 5, 6, 7); not every KVM checks. */
    private static boolean validPat(long pat) {
        for (int i = 0; i < 8; i++) {
            long type = pat >>> (8 * i) & 0xff;
            if (type == 2 || type == 3 || type > 7) return false;
        }
        return true;
    }

    private static String name(int msr) {
        return MSR_NAMES.getOrDefault(msr, hex(msr & 0xffffffffL));
    }

}
