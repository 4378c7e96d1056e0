package dev.scratchvm.cli;

/** Turns any failure into the single line a user sees. */
final class Errors {
    private Errors() {
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        return m.lines().findFirst().orElse(m);
    }
}
