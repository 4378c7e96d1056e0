package dev.scratchvm.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines for starting a brand-new VMM process running this same build. */
final class SelfProcess {
    private SelfProcess() {
    }

    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        String home = System.getProperty("scratchvm.home");
        if (home != null) cmd.add("-Dscratchvm.home=" + home);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }
}
