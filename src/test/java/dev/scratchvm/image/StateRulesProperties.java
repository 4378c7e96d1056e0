package dev.scratchvm.image;

import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.Registers;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The rules are total (any state gets an answer, never an exception) and exact: an address
 * field is accepted precisely when it lies in the guest's own memory, [2 MiB, memory size).
 */
class StateRulesProperties {
    private static final long SIZE = 16L << 20, USER = 2L << 20;
    private static final MachineState GOOD = TestStates.sample(SIZE);

    @Property(tries = 500)
    @Label("any state the codec accepts gets an answer from the rules, and a random one is refused")
    void random_states_are_refused_without_an_exception(@ForAll long seed) {
        assertThat(StateRules.check(TestStates.random(seed))).isNotNull();
    }

    @Property(tries = 300)
    @Label("brk_start is accepted exactly inside guest memory")
    void brk_start(@ForAll("addresses") long v) {
        KernelState k = GOOD.kernel();
        MachineState s = kernel(new KernelState(v, Math.max(v, k.brk()), k.mmapBase(), k.mmapTop(), k.mappings(), k.cwd(),
                k.clearChildTid(), k.robustList(), k.files(), k.fds(), k.signalActions()));
        assertThat(StateRules.check(s) == null).as("0x%x", v).isEqualTo(v >= USER && v <= SIZE);
    }

    @Property(tries = 300)
    @Label("clear_child_tid is accepted exactly when 0 or inside guest memory")
    void clear_child_tid(@ForAll("addresses") long v) {
        KernelState k = GOOD.kernel();
        MachineState s = kernel(new KernelState(k.brkStart(), k.brk(), k.mmapBase(), k.mmapTop(), k.mappings(), k.cwd(), v,
                k.robustList(), k.files(), k.fds(), k.signalActions()));
        assertThat(StateRules.check(s) == null).as("0x%x", v).isEqualTo(v == 0 || (v >= USER && v <= SIZE - 4));
    }

    @Property(tries = 300)
    @Label("rip is accepted exactly inside guest memory")
    void rip(@ForAll("addresses") long v) {
        VcpuState c = GOOD.vcpu();
        Registers r = c.regs();
        Registers regs = new Registers(r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rsp(), r.rbp(), r.r8(), r.r9(),
                r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), v, r.rflags());
        MachineState s = new MachineState(new VcpuState(c.mpState(), regs, c.sregs(), c.xsave(), c.xcrs(), c.debug(), c.msrs(),
                c.events(), c.cpuid(), c.tscKhz()), GOOD.memory(), GOOD.kernel());
        assertThat(StateRules.check(s) == null).as("0x%x", v).isEqualTo(v >= USER && v < SIZE);
    }

    @Property(tries = 300)
    @Label("cr3 is accepted exactly when it points at ScratchVM's page tables")
    void cr3(@ForAll("addresses") long v) {
        VcpuState c = GOOD.vcpu();
        var x = c.sregs();
        var sregs = new SpecialRegisters(x.cs(), x.ds(), x.es(), x.fs(), x.gs(), x.ss(), x.tr(), x.ldt(), x.gdt(),
                x.idt(), x.cr0(), x.cr2(), v, x.cr4(), x.cr8(), x.efer(), x.apicBase(), x.interruptBitmap());
        MachineState s = new MachineState(new VcpuState(c.mpState(), c.regs(), sregs, c.xsave(), c.xcrs(), c.debug(), c.msrs(),
                c.events(), c.cpuid(), c.tscKhz()), GOOD.memory(), GOOD.kernel());
        assertThat(StateRules.check(s) == null).as("0x%x", v).isEqualTo((v & ~0xfffL) == 0x1000);
    }

    /** Anywhere, with the edges of the VMM's area and of guest memory well represented. */
    @Provide
    Arbitrary<Long> addresses() {
        return Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(0, 2 * SIZE),
                Arbitraries.longs().between(USER - 8, USER + 8), Arbitraries.longs().between(SIZE - 8, SIZE + 8),
                Arbitraries.longs().between(0x1000, 0x1fff), Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 50));
    }

    private static MachineState kernel(KernelState k) {
        return new MachineState(GOOD.vcpu(), GOOD.memory(), k);
    }
}
