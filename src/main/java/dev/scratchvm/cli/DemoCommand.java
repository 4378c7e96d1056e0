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
 * the file it wrote, then migrates a second run to a local server over TCP.
 */
final class DemoCommand implements Command {
    static final Spec<DemoCommand> SPEC = Spec.of("demo", "Save a running program, restore it in a new VMM, then migrate one over TCP.", DemoCommand::new)
            .option("--dir", "DIR", "Work directory (default: a new temporary one).", (c, v) -> c.dir = Values.path(v))
            .flag("Skip the migration part.", c -> c.noMigration = true, "--no-migration")
            // Handled by the ./scratchvm launcher, which starts the test VM; declared here for --help.
            .flag("Run the demo inside the test VM (QEMU with nested SVM), e.g. on a machine without /dev/kvm. Slow: a few minutes.",
                    c -> c.emulated = true, "--emulated");

    Path dir;
    boolean noMigration;
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
        say("demo complete: the program's output file was written once, across two VMM processes");
        return 0;
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
