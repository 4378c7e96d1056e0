package dev.scratchvm.vmm;

/** Names of the Linux signals the VMM reports. */
final class Signals {
    static final int SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGSEGV = 11;

    private Signals() {
    }

    static String name(int signal) {
        return switch (signal) {
            case 1 -> "SIGHUP";
            case 2 -> "SIGINT";
            case 3 -> "SIGQUIT";
            case SIGILL -> "SIGILL";
            case SIGTRAP -> "SIGTRAP";
            case SIGABRT -> "SIGABRT";
            case SIGBUS -> "SIGBUS";
            case SIGFPE -> "SIGFPE";
            case 9 -> "SIGKILL";
            case SIGSEGV -> "SIGSEGV";
            case 13 -> "SIGPIPE";
            case 15 -> "SIGTERM";
            default -> "signal " + signal;
        };
    }
}
