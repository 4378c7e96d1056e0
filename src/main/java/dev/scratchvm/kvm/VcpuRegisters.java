package dev.scratchvm.kvm;

import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.SpecialRegisters;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The one owner of a vCPU's general and special registers while the VMM handles an exit.
 *
 * <p>KVM keeps two copies the VMM can touch: the sync area in kvm_run (filled at every exit,
 * loaded at the next KVM_RUN when marked dirty) and its internal copy behind the
 * KVM_GET/SET_REGS and _SREGS ioctls. Mixing the two loses writes: a stale sync copy marked
 * dirty overwrites what an ioctl just set. So everything reads and writes registers here, and
 * this class alone decides where a value lives:
 * <ul>
 *   <li>Between an exit and the next KVM_RUN, writes are buffered (general registers in the
 *       sync area, special registers in a cached record) and applied in {@link #beforeRun}
 *       — through the sync area, never an extra ioctl on the system-call path.</li>
 *   <li>Before the first KVM_RUN (boot, restore) there is no sync copy: reads and writes go
 *       straight to KVM, in the caller's order.</li>
 * </ul>
 * Reading through an ioctl (capture) needs no pending writes: {@link Vcpu#completePendingExit}
 * applies them first.
 */
public final class VcpuRegisters {
    /** A general-purpose register, by its offset in struct kvm_regs. */
    public enum Gpr {
        RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS;

        private final long offset = Structs.REGS.byteOffset(
                java.lang.foreign.MemoryLayout.PathElement.groupElement(Structs.GPR_NAMES[ordinal()]));
    }

    private final Vcpu vcpu;
    private final MemorySegment syncRegs;
    private final MemorySegment syncSregs;
    /** True from an exit until the next KVM_RUN: the sync area holds the current general registers. */
    private boolean atExit;
    /** Whether KVM also copies the special registers into kvm_run at each exit. */
    private boolean sregsSynced;
    private boolean regsDirty;
    /** Special registers read (or written) since the last exit; null when not read yet. */
    private SpecialRegisters sregs;
    private boolean sregsDirty;

    VcpuRegisters(Vcpu vcpu, MemorySegment syncRegs, MemorySegment syncSregs) {
        this.vcpu = vcpu;
        this.syncRegs = syncRegs;
        this.syncSregs = syncSregs;
        vcpu.setValidSyncRegs(Vcpu.SYNC_REGS);
    }

    /**
     * Has KVM copy the special registers into kvm_run at every exit too (costs a copy per exit;
     * worth it only when every exit writes them, as system calls do where SYSCALL enters ring 0).
     */
    public void syncSpecialRegisters(boolean on) {
        sregsSynced = on;
        vcpu.setValidSyncRegs(on ? Vcpu.SYNC_REGS | Vcpu.SYNC_SREGS : Vcpu.SYNC_REGS);
    }

    public long get(Gpr r) {
        if (!atExit) return vcpu.getRegs(syncRegs).get(JAVA_LONG, r.offset);
        return syncRegs.get(JAVA_LONG, r.offset);
    }

    public void set(Gpr r, long value) {
        if (!atExit) {
            vcpu.getRegs(syncRegs);
            syncRegs.set(JAVA_LONG, r.offset, value);
            vcpu.setRegs(syncRegs);
            return;
        }
        syncRegs.set(JAVA_LONG, r.offset, value);
        regsDirty = true;
    }

    public Registers regs() {
        return Structs.readRegs(atExit ? syncRegs : vcpu.getRegs(syncRegs));
    }

    public void setRegs(Registers regs) {
        Structs.writeRegs(syncRegs, regs);
        if (atExit) {
            regsDirty = true;
        } else {
            vcpu.setRegs(syncRegs);
        }
    }

    public SpecialRegisters sregs() {
        if (!atExit) return vcpu.getSregs();
        if (sregs == null) sregs = sregsSynced ? Structs.readSregs(syncSregs) : vcpu.getSregs();
        return sregs;
    }

    public void setSregs(SpecialRegisters s) {
        if (!atExit) {
            vcpu.setSregs(s);
            return;
        }
        sregs = s;
        sregsDirty = true;
    }

    /** Hands buffered writes to KVM; called by {@link Vcpu#run} right before KVM_RUN. */
    void beforeRun() {
        if (sregsDirty) {
            if (sregsSynced) {
                Structs.writeSregs(syncSregs, sregs);
                vcpu.markSyncRegsDirty(Vcpu.SYNC_SREGS);
            } else {
                vcpu.setSregs(sregs);   // rare: arch_prctl on a platform where SYSCALL stays in ring 3
            }
            sregsDirty = false;
        }
        if (regsDirty) {
            vcpu.markSyncRegsDirty(Vcpu.SYNC_REGS);
            regsDirty = false;
        }
        sregs = null;
        atExit = false;
    }

    /** KVM_RUN returned (an exit, or EINTR): kvm_run holds fresh copies. */
    void afterRun() {
        atExit = true;
    }
}
