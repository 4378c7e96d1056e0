package dev.scratchvm.cli;

import dev.scratchvm.cmdline.Command;
import dev.scratchvm.cmdline.Spec;
import dev.scratchvm.cmdline.Values;
import dev.scratchvm.util.GuestCompiler;
import dev.scratchvm.util.Home;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code scratchvm demo}: the lab scenario end to end. Builds examples/lab3/app.c, runs it
 * until it asks for SAVE, shows the image, resumes it in a brand-new VMM process, shows
 * the file it wrote, then migrates a second run to a local server over TCP, and finally
 * steers a running VM from outside: pause, snapshots left running, a diff, restore.
 */
final class DemoCommand implements Command {
    static final Spec<DemoCommand> SPEC = Spec.of("demo", "Save a running program, restore it in a new VMM, then migrate one over TCP.", DemoCommand::new)
            .option("--dir", "DIR", "Work directory (default: a new temporary one).", (c, v) -> c.dir = Values.path(v))
            .flag("Skip the migration part.", c -> c.noMigration = true, "--no-migration")
            .flag("Skip steering a running VM through its control socket.", c -> c.noSteering = true, "--no-steering")
            // Handled by the ./scratchvm launcher, which starts the test VM; declared here for --help.
            .flag("Run the demo inside the test VM (QEMU with nested SVM), e.g. on a machine without /dev/kvm. Slow: a few minutes.",
                    c -> c.emulated = true, "--emulated");

    Path dir;
    boolean noMigration;
    boolean noSteering;
    boolean emulated;

    private static final String FILE = "ay_caramba";

    @Override
    public int call() throws Exception {
        if (emulated) throw new IllegalArgumentException("--emulated is handled by the ./scratchvm launcher; run it through that");
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("scratchvm-demo-");
        Path source = Home.directory().resolve("examples/lab3/app.c");
        if (!Files.exists(source)) throw new IllegalArgumentException(source + ": not found (run the demo from the repository)");
        say("ScratchVM demo in " + work);

        step(1, "build the lab program: " + compile(source, work));
        Files.deleteIfExists(work.resolve(FILE));
        Files.deleteIfExists(work.resolve("vm.img"));

        step(2, "scratchvm run --image vm.img ./app      (the program writes a line, then asks for SAVE)");
        int rc = vmm(work, "run", "--image", "vm.img", "./app");
        if (rc != 0) return fail("run ended with status " + rc);
        showFile(work);

        step(3, "scratchvm inspect vm.img");
        if (vmm(work, "inspect", "vm.img") != 0) return fail("inspect failed");

        step(4, "scratchvm restore vm.img                (a brand-new VMM process continues the program)");
        rc = vmm(work, "restore", "vm.img");
        if (rc != 0) return fail("restore ended with status " + rc);
        String content = showFile(work);
        if (!content.equals("Hello World !!!\nBye Bye !!!\n")) return fail("unexpected file content");

        if (!noMigration) {
            step(5, "migration: scratchvm serve --once  +  scratchvm run --migrate-to  (the VM moves over TCP at SAVE)");
            Files.deleteIfExists(work.resolve(FILE));
            rc = MigrationDemo.run(work);
            if (rc != 0) return fail("migration demo ended with status " + rc);
            content = showFile(work);
            if (!content.equals("Hello World !!!\nBye Bye !!!\n")) return fail("unexpected file content after migration");
        }
        if (!noSteering) {
            rc = steer(work);
            if (rc != 0) return rc;
            if (!noMigration) {
                rc = live(work);
                if (rc != 0) return rc;
            }
        }
        say("demo complete: the program's output file was written once, across two VMM processes");
        return 0;
    }

    private static final int LINES = 6000;

    /** A VM writing a file, steered from outside: pause, resume, a snapshot left running, a diff, restore. */
    private static int steer(Path work) throws IOException, InterruptedException {
        step(6, "steering a running VM: scratchvm run --api-sock vm.sock ./steer writer ...  (writes " + LINES + " lines)");
        GuestCompiler.compile(Home.directory().resolve("guest/tests/steer.c"), Home.directory().resolve("guest/include"),
                work.resolve("steer"));
        for (String f : List.of("steer.txt", "vm.sock", "base.img", "diff.img")) Files.deleteIfExists(work.resolve(f));
        Process vm = new ProcessBuilder(SelfProcess.command("run", "--trace=none", "--api-sock", "vm.sock", "./steer", "writer",
                Integer.toString(LINES), "steer.txt", "300000")).directory(work.toFile()).inheritIO().start();
        for (int i = 0; i < 600 && !Files.exists(work.resolve("vm.sock")); i++) Thread.sleep(20);
        String[][] steps = {
                {"ctl", "vm.sock", "status"}, {"ctl", "vm.sock", "pause"}, {"ctl", "vm.sock", "resume"},
                {"ctl", "vm.sock", "snapshot", "base.img", "--leave-running"},
                {"ctl", "vm.sock", "snapshot", "diff.img", "--diff"}};
        for (String[] args : steps) {
            say("   $ scratchvm " + String.join(" ", args));
            if (vmm(work, args) != 0) {
                vm.destroy();
                return fail(String.join(" ", args) + " failed");
            }
        }
        if (vm.waitFor() != 0) return fail("the steered VM ended with status " + vm.exitValue());
        say("   the file holds " + lines(work) + " lines; the VM lives on in diff.img, whose parent is base.img");
        step(7, "scratchvm restore diff.img      (rebuilds base.img + diff.img and goes on writing)");
        int rc = vmm(work, "restore", "--trace=none", "diff.img");
        if (rc != 0) return fail("restore of the diff ended with status " + rc);
        long n = lines(work);
        say("   the file holds " + n + " lines");
        return n == LINES ? 0 : fail("expected " + LINES + " lines");
    }

    /** A VM writing a file moves live to a server while it writes: only its last pages wait for the stop. */
    private static int live(Path work) throws IOException, InterruptedException {
        step(8, "live migration: scratchvm ctl vm.sock migrate HOST:PORT   (the same writer moves to a serve while it runs)");
        for (String f : List.of("steer.txt", "vm.sock")) Files.deleteIfExists(work.resolve(f));
        int rc = MigrationDemo.withServer(work, address -> {
            Process vm = new ProcessBuilder(SelfProcess.command("run", "--trace=none", "--api-sock", "vm.sock", "./steer", "writer",
                    Integer.toString(LINES), "steer.txt", "300000")).directory(work.toFile()).inheritIO().start();
            for (int i = 0; i < 600 && !Files.exists(work.resolve("vm.sock")); i++) Thread.sleep(20);
            Thread.sleep(300);   // let it write a while
            say("   $ scratchvm ctl vm.sock migrate " + address);
            int status = vmm(work, "ctl", "vm.sock", "migrate", address);
            if (vm.waitFor() != 0) return fail("the migrated VM ended here with status " + vm.exitValue());
            return status;
        }, "serve", "--once", "--trace=none", "--listen", "127.0.0.1:0");
        if (rc != 0) return fail("the live migration ended with status " + rc);
        long n = lines(work);
        say("   the file holds " + n + " lines, written by the guest on both sides of the move");
        return n == LINES ? 0 : fail("expected " + LINES + " lines");
    }

    private static long lines(Path work) throws IOException {
        try (var l = Files.lines(work.resolve("steer.txt"))) {
            return l.count();
        }
    }

    private static String compile(Path source, Path work) throws IOException, InterruptedException {
        GuestCompiler.compile(source, Home.directory().resolve("guest/include"), work.resolve("app"));
        return GuestCompiler.compiler() + " -static -O1 ... app.c";
    }

    /** Runs a new VMM process in {@code work}, its output shown as it comes. */
    static int vmm(Path work, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(SelfProcess.command(args));
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).inheritIO().start();
        return p.waitFor();
    }

    private static String showFile(Path work) throws IOException {
        Path f = work.resolve(FILE);
        String content = Files.exists(f) ? Files.readString(f) : "";
        say("   " + FILE + " now holds " + content.length() + " bytes: \"" + content.replace("\n", "\\n") + "\"");
        return content;
    }

    private static void step(int n, String text) {
        say("");
        say("[" + n + "] " + text);
    }

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static int fail(String why) {
        System.err.println("scratchvm: demo failed: " + why);
        return 1;
    }
}
