package dev.scratchvm.linux;

import dev.scratchvm.x86.CpuidEntry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** /proc/cpuinfo for the VM's one processor, decoded from the CPUID the guest sees. */
final class CpuInfo {
    private CpuInfo() {
    }

    // Flag names per register, bit 0 first, as Linux's cpufeatures name them (null: not shown).
    private static final String[] LEAF1_EDX = {"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", null,
            "sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "pn", "clflush", null, "dts", "acpi", "mmx", "fxsr", "sse",
            "sse2", "ss", "ht", "tm", "ia64", "pbe"};
    private static final String[] EXT1_EDX = {null, null, null, null, null, null, null, null, null, null, null, "syscall",
            null, null, null, null, null, null, null, "mp", "nx", null, "mmxext", null, null, "fxsr_opt", "pdpe1gb", "rdtscp",
            null, "lm", "3dnowext", "3dnow"};
    private static final String[] LEAF1_ECX = {"pni", "pclmulqdq", "dtes64", "monitor", "ds_cpl", "vmx", "smx", "est",
            "tm2", "ssse3", "cid", "sdbg", "fma", "cx16", "xtpr", "pdcm", null, "pcid", "dca", "sse4_1", "sse4_2", "x2apic",
            "movbe", "popcnt", "tsc_deadline_timer", "aes", "xsave", null, "avx", "f16c", "rdrand", "hypervisor"};
    private static final String[] EXT1_ECX = {"lahf_lm", "cmp_legacy", "svm", "extapic", "cr8_legacy", "abm", "sse4a",
            "misalignsse", "3dnowprefetch", "osvw", "ibs", "xop", "skinit", "wdt", null, "lwp", "fma4", "tce", null,
            "nodeid_msr", null, "tbm", "topoext", "perfctr_core", "perfctr_nb", null, "bpext", "ptsc", "perfctr_llc",
            "mwaitx", null, null};
    private static final String[] LEAF7_EBX = {"fsgsbase", "tsc_adjust", "sgx", "bmi1", "hle", "avx2", null, "smep",
            "bmi2", "erms", "invpcid", "rtm", "cqm", null, "mpx", "rdt_a", "avx512f", "avx512dq", "rdseed", "adx", "smap",
            "avx512ifma", null, "clflushopt", "clwb", "intel_pt", "avx512pf", "avx512er", "avx512cd", "sha_ni", "avx512bw",
            "avx512vl"};
    private static final String[] XSAVE_EAX = {"xsaveopt", "xsavec", "xgetbv1", "xsaves"};
    private static final String[] LEAF7_ECX = {null, "avx512vbmi", "umip", "pku", "ospke", "waitpkg", "avx512_vbmi2",
            null, "gfni", "vaes", "vpclmulqdq", "avx512_vnni", "avx512_bitalg", null, "avx512_vpopcntdq", null, "la57",
            null, null, null, null, null, "rdpid", null, null, "cldemote", null, "movdiri", "movdir64b", null, null, null};
    private static final String[] LEAF7_EDX = {null, null, "avx512_4vnniw", "avx512_4fmaps", "fsrm", null, null, null,
            "avx512_vp2intersect", null, "md_clear", null, null, null, "serialize", null, null, null, "pconfig", null, null,
            null, "amx_bf16", "avx512_fp16", "amx_tile", "amx_int8", null, null, null, "arch_capabilities", null, null};

    static String describe(List<CpuidEntry> cpuid) {
        CpuidEntry l0 = find(cpuid, 0, 0), l1 = find(cpuid, 1, 0), l7 = find(cpuid, 7, 0), xs = find(cpuid, 0xd, 1);
        CpuidEntry e0 = find(cpuid, 0x80000000, 0), e1 = find(cpuid, 0x80000001, 0), e8 = find(cpuid, 0x80000008, 0);
        StringBuilder b = new StringBuilder();
        int eax = l1 == null ? 0 : l1.eax();
        int family = (eax >> 8) & 0xf, model = (eax >> 4) & 0xf;
        if (family == 0xf) family += (eax >> 20) & 0xff;
        if (family >= 6) model |= ((eax >> 16) & 0xf) << 4;
        line(b, "processor", "0");
        line(b, "vendor_id", l0 == null ? "unknown" : text(l0.ebx(), l0.edx(), l0.ecx()));
        line(b, "cpu family", "" + family);
        line(b, "model", "" + model);
        line(b, "model name", modelName(cpuid, e0));
        line(b, "stepping", "" + (eax & 0xf));
        CpuidEntry freq = find(cpuid, 0x16, 0);
        if (freq != null && freq.eax() != 0) line(b, "cpu MHz", freq.eax() + ".000");
        line(b, "physical id", "0");
        line(b, "siblings", "1");
        line(b, "core id", "0");
        line(b, "cpu cores", "1");
        line(b, "apicid", "0");
        line(b, "initial apicid", "0");
        boolean fpu = l1 != null && (l1.edx() & 1) != 0;
        line(b, "fpu", fpu ? "yes" : "no");
        line(b, "fpu_exception", fpu ? "yes" : "no");
        line(b, "cpuid level", "" + (l0 == null ? 0 : l0.eax()));
        line(b, "wp", "yes");
        StringBuilder flags = new StringBuilder();
        add(flags, LEAF1_EDX, l1 == null ? 0 : l1.edx());
        add(flags, EXT1_EDX, e1 == null ? 0 : e1.edx());
        add(flags, LEAF1_ECX, l1 == null ? 0 : l1.ecx());
        add(flags, EXT1_ECX, e1 == null ? 0 : e1.ecx());
        add(flags, LEAF7_EBX, l7 == null ? 0 : l7.ebx());
        add(flags, XSAVE_EAX, xs == null ? 0 : xs.eax());
        add(flags, LEAF7_ECX, l7 == null ? 0 : l7.ecx());
        add(flags, LEAF7_EDX, l7 == null ? 0 : l7.edx());
        line(b, "flags", flags.toString().trim());
        int clflush = l1 == null ? 64 : ((l1.ebx() >> 8) & 0xff) * 8;
        line(b, "clflush size", "" + clflush);
        line(b, "cache_alignment", "" + clflush);
        if (e8 != null) {
            line(b, "address sizes", (e8.eax() & 0xff) + " bits physical, " + ((e8.eax() >> 8) & 0xff) + " bits virtual");
        }
        line(b, "power management", "");
        b.append('\n');
        return b.toString();
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(key).append(key.length() < 8 ? "\t\t: " : "\t: ").append(value).append('\n');
    }

    private static void add(StringBuilder out, String[] names, int reg) {
        for (int bit = 0; bit < names.length; bit++) {
            if (names[bit] != null && (reg >>> bit & 1) != 0) out.append(' ').append(names[bit]);
        }
    }

    private static String modelName(List<CpuidEntry> cpuid, CpuidEntry e0) {
        if (e0 == null || Integer.compareUnsigned(e0.eax(), 0x80000004) < 0) return "unknown";
        StringBuilder s = new StringBuilder();
        for (int leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
            CpuidEntry e = find(cpuid, leaf, 0);
            if (e == null) return "unknown";
            s.append(text(e.eax(), e.ebx(), e.ecx(), e.edx()));
        }
        return s.toString().trim();
    }

    /** Registers as the little-endian ASCII they spell, up to the first NUL. */
    private static String text(int... regs) {
        ByteBuffer buf = ByteBuffer.allocate(4 * regs.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int r : regs) buf.putInt(r);
        String s = new String(buf.array(), StandardCharsets.US_ASCII);
        int nul = s.indexOf('\0');
        return nul < 0 ? s : s.substring(0, nul);
    }

    private static CpuidEntry find(List<CpuidEntry> cpuid, int function, int index) {
        CpuidEntry any = null;
        for (CpuidEntry e : cpuid) {
            if (e.function() != function) continue;
            if (e.index() == index) return e;
            if (any == null) any = e;
        }
        return index == 0 ? any : null;
    }
}
