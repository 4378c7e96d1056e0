package dev.scratchvm.bench;

import dev.scratchvm.util.FlatJson;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A VMM's {@code --metrics} file: one JSON object per line, each an event with its fields. */
final class MetricsFile {
    private MetricsFile() {
    }

    /** The events written so far, each as its scalar fields. */
    static List<Map<String, Object>> read(Path file) throws IOException {
        List<Map<String, Object>> events = new ArrayList<>();
        if (!Files.exists(file)) return events;
        for (String line : Files.readAllLines(file)) {
            if (!line.endsWith("}")) continue; // a line still being written
            try {
                events.add(FlatJson.read(line.getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new IOException(file + ": " + e.getMessage() + ": " + line);
            }
        }
        return events;
    }

    /** The first event named {@code name}; fails naming the file if there is none. */
    static Map<String, Object> event(Path file, String name) throws IOException {
        for (Map<String, Object> e : read(file)) if (name.equals(e.get("event"))) return e;
        throw new IllegalStateException(file + " has no '" + name + "' event: " + read(file));
    }

    /** Waits for the event {@code name} while {@code process} runs. */
    static Map<String, Object> await(Path file, String name, Process process, Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (Map<String, Object> e : read(file)) if (name.equals(e.get("event"))) return e;
            if (!process.isAlive() || System.nanoTime() > until) {
                throw new IllegalStateException("no '" + name + "' event in " + file + (process.isAlive() ? " in time" : ": the VMM ended"));
            }
            Thread.sleep(5);
        }
    }

    static double number(Map<String, Object> event, String field) {
        Object v = event.get(field);
        if (!(v instanceof Number n)) throw new IllegalStateException("event " + event + " has no number '" + field + "'");
        return n.doubleValue();
    }
}
