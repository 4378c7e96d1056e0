package dev.scratchvm.testing;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Which KVM this JVM can use, and what it is called in test reports. Three flavours matter:
 * {@code kvm_pvm} (software virtualization, where a guest's SYSCALL stays at CPL 3), and the
 * hardware ones, {@code svm} and {@code vmx}, where SYSCALL enters ring 0; a hardware flavour
 * running inside another VM (the test VM) is reported as nested.
 *
 * <p>{@code SCRATCHVM_TEST_KVM=absent} makes this JVM behave as if there were no /dev/kvm,
 * which is how a machine without one is rehearsed on a machine that has one.
 */
public record KvmPlatform(String flavour, String problem) {
    private static final Path KVM = Path.of("/dev/kvm");
    private static final KvmPlatform CURRENT = detect();

    public static KvmPlatform current() {
        return CURRENT;
    }

    /** True when there is no /dev/kvm at all (as opposed to one this user cannot open). */
    public boolean absent() {
        return flavour.equals("none");
    }

    public boolean usable() {
        return problem == null;
    }

    /** True inside the test VM (scripts/testvm), where the runner sets this property. */
    public static boolean inTestVm() {
        return "testvm".equals(System.getProperty("scratchvm.test.place"));
    }

    private static KvmPlatform detect() {
        if ("absent".equals(System.getenv("SCRATCHVM_TEST_KVM")) || !Files.exists(KVM)) {
            return new KvmPlatform("none", KVM + " does not exist on this machine");
        }
        String flavour = flavourName();
        if (!Files.isReadable(KVM) || !Files.isWritable(KVM)) {
            return new KvmPlatform(flavour, KVM + " is not readable and writable by user " + System.getProperty("user.name"));
        }
        try {
            FileChannel.open(KVM, StandardOpenOption.READ, StandardOpenOption.WRITE).close();
        } catch (IOException | UnsupportedOperationException e) {
            return new KvmPlatform(flavour, "cannot open " + KVM + ": " + e);
        }
        return new KvmPlatform(flavour, null);
    }

    private static String flavourName() {
        Path modules = Path.of("/sys/module");
        if (Files.isDirectory(modules.resolve("kvm_pvm"))) return "kvm_pvm";
        String hardware = Files.isDirectory(modules.resolve("kvm_amd")) ? "svm"
                : Files.isDirectory(modules.resolve("kvm_intel")) ? "vmx" : "unknown";
        return nested() ? hardware + " (nested)" : hardware;
    }

    /** The CPU says it runs under a hypervisor: this KVM is nested inside another VM. */
    private static boolean nested() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                    .anyMatch(l -> l.startsWith("flags") && (" " + l + " ").contains(" hypervisor "));
        } catch (IOException e) {
            return false;
        }
    }
}
