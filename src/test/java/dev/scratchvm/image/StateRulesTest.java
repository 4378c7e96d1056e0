package dev.scratchvm.image;

import dev.scratchvm.x86.Registers;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.testing.HostileStates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a state may mean: a state as ScratchVM saves it passes; every hostile variant of it is
 * refused with a message naming the field, both by the rules and by the image reader (with
 * correct checksums, so only the meaning can give it away); and the bits KVM flavours report
 * differently are tolerated, so an image moves between kvm_pvm and VMX/SVM.
 */
class StateRulesTest {
    private static final long SIZE = 16L << 20;
    private static final MachineState GOOD = TestStates.sample(SIZE);

    @TempDir
    Path dir;

    static List<HostileStates.Case> hostile() {
        return HostileStates.of(GOOD);
    }

    @Test
    void a_state_as_scratchvm_saves_it_passes() {
        assertThat(StateRules.check(GOOD)).isNull();
    }

    @Test
    void a_shared_file_mapping_of_a_file_open_for_reading_passes_and_round_trips() throws Exception {
        KernelState k = GOOD.kernel();
        List<KernelState.Mapping> mappings = new java.util.ArrayList<>(k.mappings());
        mappings.add(new KernelState.Mapping(k.mmapTop() - 0x40000, 0x4000, 3, 3, 0x3000, true));
        MachineState s = new MachineState(GOOD.vcpu(), GOOD.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(),
                k.mmapTop(), mappings, k.cwd(), k.clearChildTid(), k.robustList(), k.files(), k.fds(), k.signalActions()));
        assertThat(StateRules.check(s)).isNull();
        assertThat(StateCodec.decode(StateCodec.encode(s))).usingRecursiveComparison().isEqualTo(s);
    }

    @Test
    void a_refused_path_is_quoted_on_one_line_with_its_control_characters_escaped() {
        KernelState k = GOOD.kernel();
        MachineState s = new MachineState(GOOD.vcpu(), GOOD.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(),
                k.mmapTop(), k.mappings(), "/work\n\u001b[31m/", k.clearChildTid(), k.robustList(), k.files(), k.fds(),
                k.signalActions()));
        assertThat(StateRules.check(s)).isEqualTo("kernel.cwd \"/work\\x0a\\x1b[31m/\" ends with '/'");
    }

    @Test
    void there_are_hundreds_of_hostile_cases_covering_every_kind_of_field() {
        List<HostileStates.Case> cases = hostile();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(300);
        assertThat(cases).extracting(c -> c.field().replaceAll("[\\[. ].*", "")).contains("memory", "kernel", "vCPU");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void every_hostile_state_is_refused_naming_its_field(HostileStates.Case c) {
        String problem = StateRules.check(c.state());
        assertThat(problem).as(c.what()).isNotNull().contains(c.field()).doesNotContain("\n");
    }

    @Test
    void the_image_reader_refuses_every_hostile_state_behind_correct_checksums() throws Exception {
        int refused = 0;
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(600, 1);
            for (HostileStates.Case c : hostile()) {
                Path image = dir.resolve("hostile.img");
                try (GuestMemory sized = new GuestMemory(c.state().memory().size() > (64L << 30) ? SIZE : c.state().memory().size())) {
                    if (sized.segment.byteSize() != c.state().memory().size()) continue; // the writer refuses it already
                    try {
                        ImageWriter.write(image, c.state(), sized.segment, PageFilter.ALL);
                    } catch (IllegalArgumentException unencodable) {
                        continue; // e.g. a NUL in a path: the codec itself refuses it
                    }
                }
                assertThatThrownBy(() -> ImageReader.open(image).close()).as(c.toString())
                        .isInstanceOf(ImageException.class)
                        .hasMessageStartingWith(image + ": image refused: ")
                        .hasMessageContaining(c.field());
                refused++;
            }
        }
        assertThat(refused).isGreaterThanOrEqualTo(300);
    }

    @Test
    void the_message_says_what_scratchvm_expected() {
        assertThat(StateRules.check(withSregs(s -> new SpecialRegisters(s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(),
                s.ldt(), s.gdt(), s.idt(), s.cr0(), s.cr2(), 0x5000, s.cr4(), s.cr8(), s.efer(), s.apicBase(), s.interruptBitmap()))))
                .isEqualTo("vCPU cr3 is 0x5000, ScratchVM's page tables are at 0x1000");
    }

    @Test
    void bits_that_kvm_flavours_report_differently_are_tolerated() {
        // CR0.ET cleared, EFER.NXE set, CR4.PGE|MCE set, a busy vs available TSS, an accessed vs
        // unaccessed code segment, granularity bits: none of them changes what ring 3 can reach.
        List<UnaryOperator<SpecialRegisters>> variants = List.of(
                s -> control(s, s.cr0() & ~0x10, s.cr4(), s.efer()),
                s -> control(s, s.cr0() | 0x10 | (1L << 16), s.cr4(), s.efer()),
                s -> control(s, s.cr0(), s.cr4() | 0x80 | 0x40 | 0x10, s.efer()),
                s -> control(s, s.cr0(), s.cr4(), s.efer() | 0x800),
                s -> segs(s, attrs(s.cs(), s.cs().type() & ~1, 0), attrs(s.ss(), s.ss().type() & ~1, 0), attrs(s.tr(), 9, 1)),
                s -> segs(s, attrs(s.cs(), s.cs().type() | 1, 1), attrs(s.ss(), s.ss().type() | 1, 1), attrs(s.tr(), 11, 0)));
        for (UnaryOperator<SpecialRegisters> v : variants) assertThat(StateRules.check(withSregs(v))).isNull();
    }

    @Test
    void guest_owned_registers_may_hold_any_value_in_their_range() {
        VcpuState v = GOOD.vcpu();
        var r = v.regs();
        var regs = new Registers(-1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, SIZE - 1,
                0x2 | 0x1 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x200000 | 0x200);
        MachineState s = new MachineState(new VcpuState(v.mpState(), regs, v.sregs().withFs(v.sregs().fs().withBase(-4096)),
                v.xsave(), v.xcrs(), v.debug(), v.msrs(), v.events(), v.cpuid(), v.tscKhz()), GOOD.memory(), GOOD.kernel());
        assertThat(StateRules.check(s)).isNull();
        assertThat(r.rip()).isNotEqualTo(regs.rip());
    }

    private static MachineState withSregs(UnaryOperator<SpecialRegisters> change) {
        VcpuState v = GOOD.vcpu();
        return new MachineState(new VcpuState(v.mpState(), v.regs(), change.apply(v.sregs()), v.xsave(), v.xcrs(), v.debug(),
                v.msrs(), v.events(), v.cpuid(), v.tscKhz()), GOOD.memory(), GOOD.kernel());
    }

    private static SpecialRegisters control(SpecialRegisters s, long cr0, long cr4, long efer) {
        return new SpecialRegisters(s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss(), s.tr(), s.ldt(), s.gdt(), s.idt(), cr0,
                s.cr2(), s.cr3(), cr4, s.cr8(), efer, s.apicBase(), s.interruptBitmap());
    }

    private static SpecialRegisters segs(SpecialRegisters s, Segment cs, Segment ss, Segment tr) {
        return new SpecialRegisters(cs, s.ds(), s.es(), s.fs(), s.gs(), ss, tr, s.ldt(), s.gdt(), s.idt(), s.cr0(),
                s.cr2(), s.cr3(), s.cr4(), s.cr8(), s.efer(), s.apicBase(), s.interruptBitmap());
    }

    private static Segment attrs(Segment s, int type, int g) {
        return new Segment(s.base(), s.limit(), s.selector(), type, s.present(), s.dpl(), s.db(), s.s(), s.l(), g, s.avl(), s.unusable());
    }
}
