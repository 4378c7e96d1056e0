package dev.scratchvm.x86;

/** One segment register: struct kvm_segment. */
public record Segment(long base, int limit, int selector, int type, int present, int dpl, int db, int s,
                      int l, int g, int avl, int unusable) {
    public Segment withBase(long newBase) {
        return new Segment(newBase, limit, selector, type, present, dpl, db, s, l, g, avl, unusable);
    }
}
