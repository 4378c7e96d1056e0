package dev.scratchvm.bench;

import dev.scratchvm.control.ControlException;
import dev.scratchvm.control.Controller;
import dev.scratchvm.control.Snapshot;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Snapshots;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Steering a running VM from outside, through the controller the control socket uses:
 * how soon a pause stops a guest that never makes a system call, and how long a guest is
 * stopped for a snapshot that it survives ({@code --leave-running}).
 */
record ControlBench(Bench.Profile profile, Path work, Bench.Programs programs) {
    private static final long LAB_MEMORY = 16L << 20;

    List<Result> run() throws Exception {
        List<Double> pauses = new ArrayList<>(), p99s = new ArrayList<>(), exits = new ArrayList<>();
        List<Double> snapshots = new ArrayList<>(), floors = new ArrayList<>();
        int perRound = profile.quick() ? 20 : 200;
        Path image = work.resolve("steer.img");
        try (Workload w = new Workload(work); RawExitLoop loop = new RawExitLoop();
             Machine m = w.boot(programs.steer(), LAB_MEMORY, "compute", "1000000000000");
             Controller c = Controller.of(m, x -> false).start()) {
            pauseAndResume(c, perRound); // warm-up: the request path gets compiled
            c.snapshot(image, Snapshots.Kind.FULL, true);
            for (int round = 0; round < profile.rounds(); round++) {
                exits.add(loop.nanosPerExit(profile.syscalls()) / 1000);
                List<Double> latencies = pauseAndResume(c, perRound);
                pauses.addAll(latencies);
                p99s.add(latencies.stream().sorted().toList().get(latencies.size() * 99 / 100));
                Controller.Snapshotted s = c.snapshot(image, Snapshots.Kind.FULL, true);
                snapshots.add(s.pausedNanos() / 1e6);
                floors.add(writeAndSync(work.resolve("floor.bin"), s.taken().bytesWritten()) / 1e6);
            }
            c.stop();
        }
        Stats pause = Stats.of(pauses), exit = Stats.of(exits), p99 = Stats.of(p99s), snap = Stats.of(snapshots);
        return List.of(
                new Result("pause of a compute loop, request to stopped", "us", pause, "raw VM exit", exit,
                        "<= 1 ms", pause.median() <= 1000, perRound * profile.rounds() + " pauses of a guest making no system call"),
                new Result("pause of a compute loop, 99th percentile", "us", p99, "raw VM exit", exit, "<= 1 ms",
                        p99.median() <= 1000, "per round of " + perRound),
                new Result("pause + full snapshot durable + resume, 16 MiB VM", "ms", snap,
                        "write+fsync of the image's bytes", Stats.of(floors), "<= 5 ms", snap.median() <= 5, null));
    }

    private static List<Double> pauseAndResume(Controller c, int times) throws ControlException, InterruptedException {
        List<Double> micros = new ArrayList<>(times);
        for (int i = 0; i < times; i++) {
            micros.add(c.pause() / 1000.0);
            c.resume();
            Thread.sleep(0, 200_000); // let the guest run between pauses
        }
        return micros;
    }

    /** The floor for a snapshot: the same number of bytes written to a new file and fsynced, in ns. */
    private static long writeAndSync(Path file, long bytes) throws IOException {
        Files.deleteIfExists(file);
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(bytes, 1 << 20));
        long start = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long left = bytes; left > 0; left -= buf.limit()) {
                buf.clear().limit((int) Math.min(left, buf.capacity()));
                while (buf.hasRemaining()) ch.write(buf);
            }
            ch.force(true);
        }
        return System.nanoTime() - start;
    }
}
