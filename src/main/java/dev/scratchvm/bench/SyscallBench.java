package dev.scratchvm.bench;

import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Cost of one guest system call against the floor, one raw ring-3 VM exit. The three
 * loops are interleaved round by round so machine noise hits them alike.
 */
record SyscallBench(Bench.Profile profile, Path work, Bench.Programs programs) {

    List<Result> run() throws Exception {
        List<Double> raw = new ArrayList<>(), write = new ArrayList<>(), getpid = new ArrayList<>();
        int n = profile.syscalls();
        try (Workload w = new Workload(work); RawExitLoop loop = new RawExitLoop()) {
            // Warm up: the exit path and the handlers get JIT-compiled like in any long-running guest.
            loop.nanosPerExit(n);
            guestLoop(w, "write", n);
            guestLoop(w, "getpid", n);
            for (int round = 0; round < profile.rounds(); round++) {
                raw.add(loop.nanosPerExit(n) / 1000);
                write.add(guestLoop(w, "write", n));
                getpid.add(guestLoop(w, "getpid", n));
            }
        }
        Stats floor = Stats.of(raw);
        return List.of(
                new Result("raw VM exit, ring-3 out+jmp loop", "us", floor, null, null, null, null, null),
                syscall("guest write(/dev/null, 1 byte)", write, floor),
                syscall("guest getpid()", getpid, floor));
    }

    private static Result syscall(String name, List<Double> samples, Stats floor) {
        Stats s = Stats.of(samples);
        return new Result(name, "us/call", s, "raw VM exit", floor, "<= 1.25x floor", s.median() <= 1.25 * floor.median(), null);
    }

    /** Microseconds per call of a guest doing {@code count} calls (start-up amortised over them). */
    private double guestLoop(Workload w, String kind, int count) throws Exception {
        try (Machine m = w.boot(programs.syscallLoop(), 16L << 20, kind, Integer.toString(count))) {
            long start = System.nanoTime();
            Outcome o = m.run();
            long elapsed = System.nanoTime() - start;
            if (!(o instanceof Outcome.Exited e) || e.status() != 0) throw new IllegalStateException("syscall_loop: " + o);
            return elapsed / 1000.0 / count;
        }
    }
}
