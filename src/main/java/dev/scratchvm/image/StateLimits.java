package dev.scratchvm.image;

import com.google.protobuf.Descriptors.Descriptor;
import dev.scratchvm.image.schema.StateProto;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.SpecialRegisters;

import java.util.HashSet;
import java.util.Set;

/**
 * Bounds on every count and length in an encoded state, generous for a real guest yet small
 * enough that a hostile image cannot make the decoder allocate much, plus the consistency
 * rules a restorer relies on (every fd names a known open file, no duplicate fd numbers).
 */
public final class StateLimits {
    // Every bound comes from scratchvm/state.proto, the one definition of the format.
    public static final int MAX_ENCODED_BYTES = StateSchema.maxMessageBytes(StateProto.State.getDescriptor());
    public static final long MAX_MEMORY_BYTES =
            StateSchema.maxValue(StateSchema.field(StateProto.Memory.getDescriptor(), "size"));
    public static final int MAX_CPUID_ENTRIES = count(StateProto.Vcpu.getDescriptor(), "cpuid");
    public static final int MAX_MSRS = count(StateProto.Vcpu.getDescriptor(), "msrs");
    public static final int MAX_XCRS = count(StateProto.Vcpu.getDescriptor(), "xcrs");
    public static final int MAX_XSAVE_BYTES = StateSchema.maxBytes(StateSchema.field(StateProto.Vcpu.getDescriptor(), "xsave"));
    public static final int MAX_MAPPINGS = count(StateProto.Kernel.getDescriptor(), "mappings");
    public static final int MAX_FILES = count(StateProto.Kernel.getDescriptor(), "files");
    public static final int MAX_FDS = count(StateProto.Kernel.getDescriptor(), "fds");
    public static final int MAX_SIGNAL_ACTIONS = count(StateProto.Kernel.getDescriptor(), "signal_actions");
    public static final int MAX_PENDING_SIGNALS = count(StateProto.Kernel.getDescriptor(), "pending_signals");
    public static final int MAX_TIMERS = count(StateProto.Kernel.getDescriptor(), "timers");
    public static final int MAX_PATH_BYTES = StateSchema.maxBytes(StateSchema.field(StateProto.File.getDescriptor(), "path"));

    private static int count(Descriptor d, String field) {
        return StateSchema.maxCount(StateSchema.field(d, field));
    }

    private StateLimits() {
    }

    /** The first violated limit or rule, or null when {@code state} is fine. */
    public static String check(MachineState state) {
        if (state == null) return "state is null";
        if (state.vcpu() == null || state.memory() == null || state.kernel() == null) {
            return "state has a null vcpu, memory or kernel part";
        }
        String p = checkVcpu(state.vcpu());
        if (p != null) return p;
        if (state.memory().size() > MAX_MEMORY_BYTES) {
            return "memory size " + state.memory().size() + " exceeds the limit of " + MAX_MEMORY_BYTES;
        }
        return checkKernel(state.kernel());
    }

    private static String checkVcpu(VcpuState v) {
        SpecialRegisters s = v.sregs();
        if (v.regs() == null || s == null || v.debug() == null || v.events() == null) {
            return "vcpu state has a null part";
        }
        if (s.cs() == null || s.ds() == null || s.es() == null || s.fs() == null || s.gs() == null
                || s.ss() == null || s.tr() == null || s.ldt() == null || s.gdt() == null || s.idt() == null) {
            return "vcpu special registers have a null part";
        }
        if (v.xsave().length > MAX_XSAVE_BYTES) return "xsave area of " + v.xsave().length + " bytes exceeds " + MAX_XSAVE_BYTES;
        if (v.xcrs().size() > MAX_XCRS) return v.xcrs().size() + " XCRs exceed the limit of " + MAX_XCRS;
        if (v.msrs().size() > MAX_MSRS) return v.msrs().size() + " MSRs exceed the limit of " + MAX_MSRS;
        if (v.cpuid().size() > MAX_CPUID_ENTRIES) {
            return v.cpuid().size() + " CPUID entries exceed the limit of " + MAX_CPUID_ENTRIES;
        }
        return null;
    }

    private static String checkKernel(KernelState k) {
        if (k.cwd() == null) return "cwd is null";
        if (k.mappings().size() > MAX_MAPPINGS) return k.mappings().size() + " mappings exceed the limit of " + MAX_MAPPINGS;
        if (k.files().size() > MAX_FILES) return k.files().size() + " open files exceed the limit of " + MAX_FILES;
        if (k.fds().size() > MAX_FDS) return k.fds().size() + " fds exceed the limit of " + MAX_FDS;
        if (k.signalActions().size() > MAX_SIGNAL_ACTIONS) {
            return k.signalActions().size() + " signal actions exceed the limit of " + MAX_SIGNAL_ACTIONS;
        }
        if (k.signals().pending().size() > MAX_PENDING_SIGNALS) {
            return k.signals().pending().size() + " pending signals exceed the limit of " + MAX_PENDING_SIGNALS;
        }
        if (k.signals().timers().size() > MAX_TIMERS) {
            return k.signals().timers().size() + " timers exceed the limit of " + MAX_TIMERS;
        }
        Set<Integer> ids = new HashSet<>();
        for (OpenFileState f : k.files()) {
            if (f.kind() == null || f.path() == null || f.fingerprint() == null) {
                return "open file " + f.id() + " has a null kind, path or fingerprint";
            }
            if (!ids.add(f.id())) return "open file id " + f.id() + " is used twice";
        }
        Set<Integer> fds = new HashSet<>();
        for (FdState d : k.fds()) {
            if (d.fd() < 0) return "fd " + d.fd() + " is negative";
            if (!fds.add(d.fd())) return "fd " + d.fd() + " appears twice";
            if (!ids.contains(d.fileId())) return "fd " + d.fd() + " refers to unknown open file " + d.fileId();
        }
        return null;
    }
}
