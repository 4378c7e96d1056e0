package dev.scratchvm.cmdline;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The declaration of one command: name, one-line description, how to make the object the
 * command line fills in, and its options, positional parameters and sub-commands, each one
 * builder call. {@code -h/--help} and {@code -V/--version} are implied everywhere.
 *
 * <pre>{@code
 * static final Spec<InspectCommand> SPEC = Spec.of("inspect", "Validate an image and print what it holds.", InspectCommand::new)
 *         .parameter("FILE", "Image file.", (c, v) -> c.image = Values.path(v))
 *         .flag("Machine-readable output.", c -> c.json = true, "--json");
 * }</pre>
 *
 * A command with sub-commands ({@code ctl SOCK pause}) declares its own parameters first, then
 * {@link #subcommand}s made with {@link #sub}, whose factory receives the parent's filled-in object.
 * Declarations are built once and never change after start-up.
 */
public final class Spec<T> {
    private final String name;
    private final String description;
    private final Function<Object, T> factory;
    private final List<Option<T>> options = new ArrayList<>();
    private final List<Positional<T>> positionals = new ArrayList<>();
    private final List<Spec<?>> subcommands = new ArrayList<>();
    private boolean hidden;

    private Spec(String name, String description, Function<Object, T> factory) {
        this.name = name;
        this.description = description;
        this.factory = factory;
    }

    /** A top-level command. */
    public static <T> Spec<T> of(String name, String description, Supplier<T> factory) {
        return new Spec<>(name, description, parent -> factory.get());
    }

    /** A sub-command, made from its parent command's object (e.g. to read the parent's parameters). */
    @SuppressWarnings("unchecked")
    public static <P, T> Spec<T> sub(String name, String description, Function<P, T> factory) {
        return new Spec<>(name, description, parent -> factory.apply((P) parent));
    }

    /** A flag; {@code names} are e.g. {@code "-v", "--verbose"} or just {@code "--json"}. */
    public Spec<T> flag(String help, Consumer<T> set, String... names) {
        return add(Option.flag(help, set, names));
    }

    /** An option with a value, given at most once. */
    public Spec<T> option(String name, String label, String help, BiConsumer<T, String> set) {
        return add(new Option<>(List.of(name), label, help, false, false, set));
    }

    /** An option with a value that may be given any number of times; {@code set} sees each in order. */
    public Spec<T> repeatable(String name, String label, String help, BiConsumer<T, String> set) {
        return add(new Option<>(List.of(name), label, help, true, false, set));
    }

    /** An option with a value that must be given, once. */
    public Spec<T> required(String name, String label, String help, BiConsumer<T, String> set) {
        return add(new Option<>(List.of(name), label, help, false, true, set));
    }

    public Spec<T> add(Option<T> option) {
        for (String n : option.names()) {
            if (option(n) != null || n.equals("-h") || n.equals("--help") || n.equals("-V") || n.equals("--version")) {
                throw new IllegalStateException(name + ": option " + n + " declared twice");
            }
        }
        options.add(option);
        return this;
    }

    /** Options shared by several commands, kept in an object {@code part} of this command. */
    public <P> Spec<T> include(List<Option<P>> shared, Function<T, P> part) {
        for (Option<P> o : shared) add(o.on(part));
        return this;
    }

    /** A positional parameter that must be given. */
    public Spec<T> parameter(String label, String help, BiConsumer<T, String> set) {
        return positional(new Positional<>(label, help, true, false, set));
    }

    /** A positional parameter that may be left out (the field keeps its default). */
    public Spec<T> optionalParameter(String label, String help, BiConsumer<T, String> set) {
        return positional(new Positional<>(label, help, false, false, set));
    }

    /** Every argument after the parameters before it, options or not (a program's own arguments). */
    public Spec<T> rest(String label, String help, BiConsumer<T, String> set) {
        return positional(new Positional<>(label, help, false, true, set));
    }

    private Spec<T> positional(Positional<T> p) {
        if (!positionals.isEmpty() && positionals.getLast().rest()) throw new IllegalStateException(name + ": nothing can follow " + positionals.getLast().label());
        if (p.required() && !positionals.isEmpty() && !positionals.getLast().required()) {
            throw new IllegalStateException(name + ": required " + p.label() + " after an optional parameter");
        }
        positionals.add(p);
        return this;
    }

    /** A sub-command; once there is one, a sub-command must follow this command's parameters. */
    public Spec<T> subcommand(Spec<?> sub) {
        if (subcommand(sub.name) != null) throw new IllegalStateException(name + ": sub-command " + sub.name + " declared twice");
        if (!positionals.isEmpty() && !positionals.getLast().required()) throw new IllegalStateException(name + ": sub-commands after an optional parameter");
        subcommands.add(sub);
        return this;
    }

    /** Left out of the command list in help (internal commands). */
    public Spec<T> hidden() {
        hidden = true;
        return this;
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    boolean isHidden() {
        return hidden;
    }

    T create(Object parent) {
        return factory.apply(parent);
    }

    List<Option<T>> options() {
        return Collections.unmodifiableList(options);
    }

    List<Positional<T>> positionals() {
        return Collections.unmodifiableList(positionals);
    }

    List<Spec<?>> subcommands() {
        return Collections.unmodifiableList(subcommands);
    }

    Option<T> option(String n) {
        for (Option<T> o : options) if (o.names().contains(n)) return o;
        return null;
    }

    Spec<?> subcommand(String n) {
        for (Spec<?> s : subcommands) if (s.name.equals(n)) return s;
        return null;
    }
}
