package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.MachineState;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Every decoded value of a state as "path = value" lines, for comparing a decoded golden
 * image with what the code that wrote it decoded. Records print through their own
 * toString (component names and values); only the XSAVE bytes are spelled out, as hex
 * rows of 64 bytes with all-zero rows left out.
 */
final class StateDump {
    private StateDump() {
    }

    static List<String> lines(MachineState s) {
        List<String> out = new ArrayList<>();
        var v = s.vcpu();
        out.add("vcpu.mp_state = " + v.mpState());
        out.add("vcpu.regs = " + v.regs());
        var r = v.sregs();
        out.add("vcpu.sregs.cs = " + r.cs());
        out.add("vcpu.sregs.ds = " + r.ds());
        out.add("vcpu.sregs.es = " + r.es());
        out.add("vcpu.sregs.fs = " + r.fs());
        out.add("vcpu.sregs.gs = " + r.gs());
        out.add("vcpu.sregs.ss = " + r.ss());
        out.add("vcpu.sregs.tr = " + r.tr());
        out.add("vcpu.sregs.ldt = " + r.ldt());
        out.add("vcpu.sregs.gdt = " + r.gdt());
        out.add("vcpu.sregs.idt = " + r.idt());
        out.add("vcpu.sregs.control = cr0=" + hex(r.cr0()) + " cr2=" + hex(r.cr2()) + " cr3=" + hex(r.cr3())
                + " cr4=" + hex(r.cr4()) + " cr8=" + hex(r.cr8()) + " efer=" + hex(r.efer())
                + " apic_base=" + hex(r.apicBase()));
        out.add("vcpu.sregs.interrupt_bitmap = " + r.interruptBitmap());
        byte[] xsave = v.xsave();
        out.add("vcpu.xsave.length = " + xsave.length);
        for (int i = 0; i < xsave.length; i += 64) {
            int end = Math.min(xsave.length, i + 64);
            boolean zero = true;
            for (int j = i; j < end; j++) zero &= xsave[j] == 0;
            if (!zero) out.add(String.format("vcpu.xsave[0x%03x] = %s", i, HexFormat.of().formatHex(xsave, i, end)));
        }
        for (int i = 0; i < v.xcrs().size(); i++) out.add("vcpu.xcrs[" + i + "] = " + v.xcrs().get(i));
        out.add("vcpu.debug = " + v.debug());
        for (int i = 0; i < v.msrs().size(); i++) out.add("vcpu.msrs[" + i + "] = " + v.msrs().get(i));
        out.add("vcpu.events = " + v.events());
        for (int i = 0; i < v.cpuid().size(); i++) out.add("vcpu.cpuid[" + i + "] = " + v.cpuid().get(i));
        out.add("vcpu.tsc_khz = " + v.tscKhz());
        out.add("memory = " + s.memory());
        var k = s.kernel();
        out.add("kernel.brk = start " + hex(k.brkStart()) + " current " + hex(k.brk()));
        out.add("kernel.mmap = base " + hex(k.mmapBase()) + " top " + hex(k.mmapTop()));
        for (int i = 0; i < k.mappings().size(); i++) out.add("kernel.mappings[" + i + "] = " + k.mappings().get(i));
        out.add("kernel.cwd = " + k.cwd());
        out.add("kernel.clear_child_tid = " + hex(k.clearChildTid()));
        out.add("kernel.robust_list = " + hex(k.robustList()));
        for (int i = 0; i < k.files().size(); i++) {
            KernelState.OpenFileState f = k.files().get(i);
            // As the 1.0 record printed itself; the locks (1.2) on lines of their own.
            out.add("kernel.files[" + i + "] = OpenFileState[id=" + f.id() + ", kind=" + f.kind() + ", path=" + f.path()
                    + ", flags=" + f.flags() + ", mode=" + f.mode() + ", offset=" + f.offset() + ", fingerprint="
                    + f.fingerprint() + "]");
            for (int j = 0; j < f.locks().size(); j++) out.add("kernel.files[" + i + "].locks[" + j + "] = " + f.locks().get(j));
        }
        for (int i = 0; i < k.fds().size(); i++) out.add("kernel.fds[" + i + "] = " + k.fds().get(i));
        for (int i = 0; i < k.signalActions().size(); i++) {
            out.add("kernel.signal_actions[" + i + "] = " + k.signalActions().get(i));
        }
        out.add("kernel.umask = 0" + Integer.toOctalString(k.umask()));
        out.add("kernel.restart = " + k.restart());
        // 1.2; images without them read the defaults
        if (!k.processName().isEmpty()) out.add("kernel.process_name = " + k.processName());
        if (!k.dumpable()) out.add("kernel.dumpable = false");
        return out;
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
