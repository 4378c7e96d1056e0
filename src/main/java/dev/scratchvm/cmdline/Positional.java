package dev.scratchvm.cmdline;

import java.util.function.BiConsumer;

/**
 * A positional parameter. {@code required}: must be given; {@code rest}: takes every argument
 * after the parameters before it, including those that look like options (so
 * {@code run PROGRAM -v} passes -v to the program).
 */
public record Positional<T>(String label, String help, boolean required, boolean rest, BiConsumer<T, String> set) {
    String synopsis() {
        String s = rest ? label + "..." : label;
        return required ? s : "[" + s + "]";
    }
}
