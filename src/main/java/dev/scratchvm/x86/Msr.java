package dev.scratchvm.x86;

/** One model-specific register. */
public record Msr(int index, long value) {
}
