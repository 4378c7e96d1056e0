package dev.scratchvm.x86;

import java.util.List;

/** struct kvm_debugregs. */
public record DebugRegisters(List<Long> db, long dr6, long dr7, long flags) {
    public DebugRegisters {
        db = List.copyOf(db);
        if (db.size() != 4) throw new IllegalArgumentException("need 4 debug address registers");
    }
}
