package dev.scratchvm.vm;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails every test of a class, before it runs, when /dev/kvm cannot be used. These tests
 * exist to run programs under real KVM; a machine without it must show up as a failure,
 * never as a quietly skipped suite.
 */
final class KvmRequired implements BeforeAllCallback {
    private static final Path KVM = Path.of("/dev/kvm");
    private static volatile String problem;
    private static volatile boolean checked;

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!checked) {
            problem = findProblem();
            checked = true;
        }
        if (problem != null) {
            throw new AssertionError("KVM is required for " + context.getDisplayName() + ": " + problem);
        }
    }

    private static String findProblem() {
        if (!Files.exists(KVM)) return KVM + " does not exist (KVM not enabled on this machine?)";
        if (!Files.isReadable(KVM) || !Files.isWritable(KVM)) {
            return KVM + " is not readable and writable by user " + System.getProperty("user.name");
        }
        try {
            FileChannel.open(KVM, StandardOpenOption.READ, StandardOpenOption.WRITE).close();
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            return "cannot open " + KVM + ": " + e;
        }
    }
}
