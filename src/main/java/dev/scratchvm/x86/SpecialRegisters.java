package dev.scratchvm.x86;

import java.util.List;

/** struct kvm_sregs. */
public record SpecialRegisters(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss,
                               Segment tr, Segment ldt, DescriptorTable gdt, DescriptorTable idt,
                               long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase,
                               List<Long> interruptBitmap) {
    public SpecialRegisters {
        interruptBitmap = List.copyOf(interruptBitmap);
        if (interruptBitmap.size() != 4) throw new IllegalArgumentException("interrupt bitmap needs 4 words");
    }

    public SpecialRegisters withFs(Segment newFs) {
        return new SpecialRegisters(cs, ds, es, newFs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                apicBase, interruptBitmap);
    }

    public SpecialRegisters withCodeAndStack(Segment newCs, Segment newSs) {
        return new SpecialRegisters(newCs, ds, es, fs, gs, newSs, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                apicBase, interruptBitmap);
    }

    public SpecialRegisters withGs(Segment newGs) {
        return new SpecialRegisters(cs, ds, es, fs, newGs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, efer,
                apicBase, interruptBitmap);
    }

    public SpecialRegisters withEfer(long newEfer) {
        return new SpecialRegisters(cs, ds, es, fs, gs, ss, tr, ldt, gdt, idt, cr0, cr2, cr3, cr4, cr8, newEfer,
                apicBase, interruptBitmap);
    }
}
