package dev.scratchvm.testing;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.state.MachineState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What the fuzz tests demand of a refusal, and where their inputs live. */
public final class FuzzChecks {
    private FuzzChecks() {
    }

    /** The state these bytes decode to, or null when the decoder refused them with a one-line message (checked). */
    public static MachineState decodedOrNull(byte[] bytes) {
        try {
            return StateCodec.decode(bytes);
        } catch (ImageException e) {
            oneLine(e.getMessage());
            return null;
        }
    }

    /** A refusal says what is wrong in one non-empty line; anything else is a finding. */
    public static String oneLine(String message) {
        if (message == null || message.isBlank()) throw new AssertionError("a refusal without a message");
        if (message.contains("\n") || message.contains("\r")) throw new AssertionError("a refusal of more than one line: " + message);
        return message;
    }

    /**
     * The committed inputs of fuzz test {@code method} of {@code testClass}: Jazzer's
     * {@code <class>Inputs/<method>/} directory beside the class on the test class path.
     */
    public static List<Path> inputs(Class<?> testClass, String method) {
        var url = testClass.getResource(testClass.getSimpleName() + "Inputs/" + method);
        if (url == null) throw new AssertionError("no inputs for " + testClass.getSimpleName() + "#" + method);
        try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
            return files.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where {@link #inputs} of a class are kept in the source tree (the project directory is the working directory of the tests). */
    public static Path sourceInputs(Class<?> testClass, String method) {
        return Path.of("src/test/resources", testClass.getPackageName().replace('.', '/'),
                testClass.getSimpleName() + "Inputs", method);
    }

    /** Writes a seed, replacing an older one of the same name. */
    public static void writeSeed(Class<?> testClass, String method, String name, byte[] bytes) {
        try {
            Path dir = Files.createDirectories(sourceInputs(testClass, method));
            Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
