package dev.scratchvm.cmdline;

import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * One declared option of a command. A flag has no value label; an option with one takes a value
 * ({@code --name VALUE} or {@code --name=VALUE}) which {@code set} converts and stores in the
 * command, throwing IllegalArgumentException with a message if the value is unusable.
 */
public record Option<T>(List<String> names, String label, String help, boolean repeatable, boolean required,
                        BiConsumer<T, String> set) {
    public Option {
        names = List.copyOf(names);
        if (names.isEmpty()) throw new IllegalArgumentException("an option needs a name");
    }

    /** A flag (no value), e.g. {@code flag("Registers with errors.", c -> c.verbose = true, "-v", "--verbose")}. */
    public static <T> Option<T> flag(String help, java.util.function.Consumer<T> set, String... names) {
        return new Option<>(List.of(names), null, help, false, false, (c, v) -> set.accept(c));
    }

    /** An option with a value, at most once. */
    public static <T> Option<T> value(String name, String label, String help, BiConsumer<T, String> set) {
        return new Option<>(List.of(name), label, help, false, false, set);
    }

    public boolean isFlag() {
        return label == null;
    }

    /** The name shown in messages: the long one. */
    public String name() {
        return names.getLast();
    }

    /** This option, setting a part of a bigger command (options shared by several commands). */
    public <U> Option<U> on(Function<U, T> part) {
        BiConsumer<T, String> s = set;
        return new Option<>(names, label, help, repeatable, required, (u, v) -> s.accept(part.apply(u), v));
    }
}
