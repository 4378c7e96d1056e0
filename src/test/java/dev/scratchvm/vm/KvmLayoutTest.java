package dev.scratchvm.vm;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.kvm.DirtyLog;
import dev.scratchvm.kvm.Kvm;
import dev.scratchvm.kvm.Vm;
import dev.scratchvm.kvm.Structs;
import dev.scratchvm.kvm.Vcpu;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VMM's view of the KVM ABI matches this machine's kernel headers: every struct layout in
 * {@link Structs} (sizes, and offset and size of each named member), the kvm_run offsets
 * {@link Vcpu} reads, the exit reasons, capability numbers and every ioctl request number.
 * The expected values come from a C program compiled here against linux/kvm.h, generated from
 * the Java side so that a layout added there is checked too.
 */
@DisplayName("KVM structures and constants match linux/kvm.h")
class KvmLayoutTest {
    /** Java layout field in Structs → the C struct it mirrors. */
    private static final Map<String, String> STRUCTS = Map.ofEntries(Map.entry("REGS", "kvm_regs"),
            Map.entry("SEGMENT", "kvm_segment"), Map.entry("DTABLE", "kvm_dtable"), Map.entry("SREGS", "kvm_sregs"),
            Map.entry("EVENTS", "kvm_vcpu_events"), Map.entry("DEBUGREGS", "kvm_debugregs"),
            Map.entry("MEMORY_REGION", "kvm_userspace_memory_region"), Map.entry("CPUID_ENTRY", "kvm_cpuid_entry2"),
            Map.entry("MSR_ENTRY", "kvm_msr_entry"), Map.entry("DIRTY_LOG", "kvm_dirty_log"),
            Map.entry("CLEAR_DIRTY_LOG", "kvm_clear_dirty_log"), Map.entry("ENABLE_CAP", "kvm_enable_cap"));

    private static Map<String, Long> header;
    private static final Map<String, Long> used = new TreeMap<>();
    private static final StringBuilder probes = new StringBuilder();

    @BeforeAll
    static void compileAgainstTheHeaders(@TempDir Path dir) throws Exception {
        structs();
        kvmRun();
        constants();
        ioctls();
        Path source = dir.resolve("layout.c");
        Files.writeString(source, """
                #include <stddef.h>
                #include <stdio.h>
                #include <linux/kvm.h>
                #define SIZE(T) printf("sizeof(struct " #T ") %zu\\n", sizeof(struct T));
                #define OFF(T, M) printf("offsetof(struct " #T ", " #M ") %zu\\n", offsetof(struct T, M)); \\
                        printf("sizeof(struct " #T "." #M ") %zu\\n", sizeof(((struct T *)0)->M));
                #define VAL(N) printf(#N " %llu\\n", (unsigned long long)(N));
                int main(void)
                {
                """ + probes + "    return 0;\n}\n");
        Path binary = Guest.gcc(source, dir.resolve("layout"));
        Process p = new ProcessBuilder(binary.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        header = new TreeMap<>();
        for (String line : out.lines().toList()) {
            int space = line.lastIndexOf(' ');
            header.put(line.substring(0, space), Long.parseUnsignedLong(line.substring(space + 1)));
        }
    }

    private static void expect(String probe, String key, long javaValue) {
        probes.append("    ").append(probe).append('\n');
        used.put(key, javaValue);
    }

    private static Object read(Class<?> owner, String field) throws ReflectiveOperationException {
        Field f = owner.getDeclaredField(field);
        f.setAccessible(true);
        return f.get(null);
    }

    private static long readLong(Class<?> owner, String field) throws ReflectiveOperationException {
        return ((Number) read(owner, field)).longValue();
    }

    private static void structs() throws ReflectiveOperationException {
        for (var e : STRUCTS.entrySet()) {
            StructLayout layout = (StructLayout) read(Structs.class, e.getKey());
            String c = e.getValue();
            expect("SIZE(" + c + ")", "sizeof(struct " + c + ")", layout.byteSize());
            for (MemoryLayout member : layout.memberLayouts()) {
                if (member.name().isEmpty()) continue; // padding
                String m = member.name().get();
                probes.append("    OFF(").append(c).append(", ").append(m).append(")\n");
                used.put("offsetof(struct " + c + ", " + m + ")", layout.byteOffset(groupElement(m)));
                used.put("sizeof(struct " + c + "." + m + ")", member.byteSize());
            }
        }
        expect("VAL(offsetof(struct kvm_cpuid2, entries))", "offsetof(struct kvm_cpuid2, entries)",
                readLong(Structs.class, "KVM_CPUID2_HEADER"));
        expect("VAL(offsetof(struct kvm_msrs, entries))", "offsetof(struct kvm_msrs, entries)",
                readLong(Structs.class, "KVM_MSRS_HEADER"));
        expect("VAL(offsetof(struct kvm_msr_list, indices))", "offsetof(struct kvm_msr_list, indices)",
                readLong(Structs.class, "KVM_MSR_LIST_HEADER"));
        expect("VAL(sizeof(struct kvm_xsave))", "sizeof(struct kvm_xsave)", readLong(Structs.class, "XSAVE_SIZE"));
        expect("VAL(sizeof(struct kvm_xcrs))", "sizeof(struct kvm_xcrs)", readLong(Structs.class, "XCRS_SIZE"));
    }

    private static void run(String member, long javaValue) {
        String expr = "offsetof(struct kvm_run, " + member + ")";
        expect("VAL(" + expr + ")", expr, javaValue);
    }

    private static void kvmRun() throws ReflectiveOperationException {
        long union = readLong(Vcpu.class, "RUN_EXIT_UNION");
        run("immediate_exit", readLong(Vcpu.class, "RUN_IMMEDIATE_EXIT"));
        run("exit_reason", readLong(Vcpu.class, "RUN_EXIT_REASON"));
        run("kvm_valid_regs", readLong(Vcpu.class, "RUN_VALID_REGS"));
        run("kvm_dirty_regs", readLong(Vcpu.class, "RUN_DIRTY_REGS"));
        run("s.regs.regs", readLong(Vcpu.class, "RUN_SYNC_REGS"));
        run("s.regs.sregs", readLong(Vcpu.class, "RUN_SYNC_SREGS"));
        // The exit payloads, at the offsets Vcpu.run and Vcpu.ioExit read them from.
        run("io.direction", union);
        run("io.size", union + 1);
        run("io.port", union + 2);
        run("io.count", union + 4);
        run("io.data_offset", union + 8);
        run("mmio.phys_addr", union);
        run("mmio.len", union + 16);
        run("mmio.is_write", union + 20);
        run("fail_entry.hardware_entry_failure_reason", union);
        run("internal.suberror", union);
        expect("VAL(KVM_EXIT_IO_OUT)", "KVM_EXIT_IO_OUT", 1);
    }

    private static void constants() throws ReflectiveOperationException {
        for (String[] pair : List.of(new String[]{"EXIT_IO", "KVM_EXIT_IO"}, new String[]{"EXIT_HLT", "KVM_EXIT_HLT"},
                new String[]{"EXIT_MMIO", "KVM_EXIT_MMIO"}, new String[]{"EXIT_SHUTDOWN", "KVM_EXIT_SHUTDOWN"},
                new String[]{"EXIT_FAIL_ENTRY", "KVM_EXIT_FAIL_ENTRY"},
                new String[]{"EXIT_INTERNAL_ERROR", "KVM_EXIT_INTERNAL_ERROR"})) {
            expect("VAL(" + pair[1] + ")", pair[1], readLong(Vcpu.class, pair[0]));
        }
        expect("VAL(KVM_SYNC_X86_REGS)", "KVM_SYNC_X86_REGS", Vcpu.SYNC_REGS);
        expect("VAL(KVM_SYNC_X86_SREGS)", "KVM_SYNC_X86_SREGS", Vcpu.SYNC_SREGS);
        expect("VAL(KVM_SYNC_X86_EVENTS)", "KVM_SYNC_X86_EVENTS", Vcpu.SYNC_EVENTS);
        expect("VAL(KVM_API_VERSION)", "KVM_API_VERSION", readLong(Kvm.class, "API_VERSION"));
        expect("VAL(KVM_MEM_LOG_DIRTY_PAGES)", "KVM_MEM_LOG_DIRTY_PAGES", Vm.MEM_LOG_DIRTY_PAGES);
        expect("VAL(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)", "KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE",
                readLong(DirtyLog.class, "MANUAL_PROTECT_ENABLE"));
        for (Field f : Kvm.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().startsWith("CAP_")) {
                String c = "KVM_" + f.getName();
                expect("VAL(" + c + ")", c, readLong(Kvm.class, f.getName()));
            }
        }
    }

    /** Every request number in Ioctls against the header's macro of the same name. */
    private static void ioctls() throws ReflectiveOperationException {
        Class<?> ioctls = Class.forName("dev.scratchvm.kvm.Ioctls");
        for (Field f : ioctls.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != long.class) continue;
            String c = "KVM_" + f.getName();
            expect("VAL(" + c + ")", c, readLong(ioctls, f.getName()));
        }
    }

    @Test
    @DisplayName("every probed value agrees")
    void everythingAgrees() {
        assertThat(used).as("values the VMM uses").isEqualTo(header);
    }

    @Test
    @DisplayName("the probe covers the structs, kvm_run, constants and ioctls")
    void probeIsComplete() {
        assertThat(header).containsKeys("sizeof(struct kvm_sregs)", "offsetof(struct kvm_vcpu_events, exception_payload)",
                "offsetof(struct kvm_run, s.regs.sregs)", "KVM_EXIT_INTERNAL_ERROR", "KVM_CAP_SYNC_REGS", "KVM_RUN",
                "KVM_SET_USER_MEMORY_REGION", "KVM_GET_XCRS", "KVM_GET_DIRTY_LOG", "KVM_CLEAR_DIRTY_LOG",
                "KVM_ENABLE_CAP", "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2", "sizeof(struct kvm_clear_dirty_log)");
        assertThat(header).hasSizeGreaterThan(150);
    }
}
