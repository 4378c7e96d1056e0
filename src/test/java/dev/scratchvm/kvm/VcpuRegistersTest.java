package dev.scratchvm.kvm;

import dev.scratchvm.kvm.VcpuRegisters.Gpr;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.BareVm;
import org.junit.jupiter.api.Tag;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Registers have one owner. Between two exits every write is kept until the next KVM_RUN, and
 * a later write builds on an earlier one, whether KVM syncs the special registers through
 * kvm_run (as where SYSCALL enters ring 0) or they travel by ioctl (kvm_pvm).
 */
@KvmTest
@Tag(KvmTest.HARDWARE_PATH)
class VcpuRegistersTest {
    /** KVM's own copy, by KVM_GET_REGS. */
    private static Registers kvmRegs(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            return Structs.readRegs(vcpu.getRegs(arena.allocate(Structs.REGS)));
        }
    }

    @ParameterizedTest(name = "special registers synced through kvm_run: {0}")
    @ValueSource(booleans = {false, true})
    void twoWritesInOneExitBothReachKvm(boolean synced) {
        try (BareVm vm = new BareVm(); Vcpu vcpu = vm.exitLoopVcpu(0)) {
            VcpuRegisters regs = vcpu.registers();
            regs.syncSpecialRegisters(synced);
            assertThat(vcpu.run()).isInstanceOf(VmExit.Io.class);

            var s = regs.sregs();
            regs.setSregs(s.withFs(s.fs().withBase(0x7f00_1234_5000L)));       // what arch_prctl does
            var t = regs.sregs();
            regs.setSregs(t.withGs(t.gs().withBase(0x7f00_6789_a000L)));       // what a syscall return does next
            regs.set(Gpr.RBX, 42);
            assertThat(vcpu.run()).isInstanceOf(VmExit.Io.class);

            assertThat(vcpu.getSregs().fs().base()).as("KVM's FS base").isEqualTo(0x7f00_1234_5000L);
            assertThat(vcpu.getSregs().gs().base()).as("KVM's GS base").isEqualTo(0x7f00_6789_a000L);
            assertThat(regs.sregs().fs().base()).as("the owner's view").isEqualTo(0x7f00_1234_5000L);
            assertThat(regs.get(Gpr.RBX)).isEqualTo(42);
        }
    }

    @Test
    void beforeTheFirstRunWritesGoStraightToKvmInOrder() {
        try (BareVm vm = new BareVm(); Vcpu vcpu = vm.exitLoopVcpu(0)) {
            VcpuRegisters regs = vcpu.registers();
            regs.set(Gpr.R12, 0x1122_3344_5566_7788L);
            var s = regs.sregs();
            regs.setSregs(s.withFs(s.fs().withBase(0x40_0000L)));

            assertThat(kvmRegs(vcpu).r12())
                    .isEqualTo(0x1122_3344_5566_7788L);
            assertThat(vcpu.getSregs().fs().base()).isEqualTo(0x40_0000L);
        }
    }

    @Test
    void aCompletedExitLeavesNothingPendingForTheIoctls() {
        try (BareVm vm = new BareVm(); Vcpu vcpu = vm.exitLoopVcpu(0)) {
            VcpuRegisters regs = vcpu.registers();
            assertThat(vcpu.run()).isInstanceOf(VmExit.Io.class);
            regs.set(Gpr.RAX, -38);
            vcpu.completePendingExit();

            assertThat(kvmRegs(vcpu).rax())
                    .as("what capture reads by ioctl").isEqualTo(-38);
        }
    }
}
