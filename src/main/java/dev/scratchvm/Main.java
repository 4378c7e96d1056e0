package dev.scratchvm;

import dev.scratchvm.bench.BenchCommand;

/**
 * Entry point: {@code scratchvm COMMAND ...}. The VMM's commands come from {@code cli}, the
 * benchmark from {@code bench}; neither package knows the other, only this class knows both.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(dev.scratchvm.cli.Main.PROGRAM.with(BenchCommand.SPEC).execute(args));
    }
}
