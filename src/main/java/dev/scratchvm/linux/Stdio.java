package dev.scratchvm.linux;

/**
 * Host fds that stand behind the guest's standard input, output and error. Normally the
 * VMM's own (0, 1, 2); an embedding program such as the benchmark can pass others.
 * The kernel never closes them.
 */
public record Stdio(int in, int out, int err) {
    public static final Stdio INHERIT = new Stdio(0, 1, 2);
}
