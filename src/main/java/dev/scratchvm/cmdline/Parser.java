package dev.scratchvm.cmdline;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Fills in a command from its arguments, by its {@link Spec}. Options may come before, between
 * and after parameters, as {@code --name VALUE}, {@code --name=VALUE} or clustered short flags
 * ({@code -vh}); {@code --} ends the options. Every mistake is a {@link UsageException}.
 */
public final class Parser {
    private Parser() {
    }

    /** Parses {@code args} for {@code spec}, whose full name (for messages) is {@code path}. */
    public static Parsed parse(Spec<?> spec, String path, List<String> args) throws UsageException {
        return parse(spec, path, null, args);
    }

    private static <T> Parsed parse(Spec<T> spec, String path, Object parent, List<String> args) throws UsageException {
        T target = spec.create(parent);
        Set<Option<T>> seen = new HashSet<>();
        List<Positional<T>> positionals = spec.positionals();
        int next = 0, given = 0;
        boolean optionsEnded = false, inRest = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!optionsEnded && !inRest && a.equals("--")) {
                optionsEnded = true;
                continue;
            }
            if (!optionsEnded && !inRest && a.length() > 1 && a.startsWith("-")) {
                if (a.equals("-h") || a.equals("--help")) return new Parsed.Help(spec, path);
                if (a.equals("-V") || a.equals("--version")) return new Parsed.Version();
                int eq = a.startsWith("--") ? a.indexOf('=') : -1;
                String name = eq < 0 ? a : a.substring(0, eq);
                Option<T> o = spec.option(name);
                if (o != null) {
                    String value = eq < 0 ? null : a.substring(eq + 1);
                    if (!o.isFlag() && value == null) {
                        if (i + 1 >= args.size() || spec.option(args.get(i + 1)) != null) {
                            throw new UsageException(path, "Missing required parameter for option '" + o.name() + "' (" + o.label() + ")");
                        }
                        value = args.get(++i);
                    }
                    if (o.isFlag() && value != null) throw new UsageException(path, "option '" + o.name() + "' takes no value");
                    apply(path, target, o, value, seen);
                    continue;
                }
                Parsed cluster = cluster(spec, path, target, a, seen);
                if (cluster != null) return cluster;
                if (!a.startsWith("--") && a.length() > 2) continue; // a cluster of flags, applied
                throw new UsageException(path, "Unknown option: '" + a + "'");
            }
            if (next < positionals.size()) {
                Positional<T> p = positionals.get(next);
                try {
                    p.set().accept(target, a);
                } catch (IllegalArgumentException e) {
                    throw new UsageException(path, "Invalid value for " + p.label() + ": " + e.getMessage());
                }
                given = Math.max(given, next + 1);
                if (!p.rest()) next++;
                // From here on every argument is the rest's, even one that looks like an option.
                inRest = next < positionals.size() && positionals.get(next).rest();
                continue;
            }
            if (!spec.subcommands().isEmpty()) {
                Spec<?> sub = spec.subcommand(a);
                if (sub == null) throw new UsageException(path, "Unknown command: '" + a + "'");
                checkComplete(spec, path, seen, given);
                return parse(sub, path + " " + sub.name(), target, args.subList(i + 1, args.size()));
            }
            throw new UsageException(path, "Unmatched argument at index " + i + ": '" + a + "'");
        }
        checkComplete(spec, path, seen, given);
        if (!spec.subcommands().isEmpty()) throw new UsageException(path, "Missing required subcommand");
        if (!(target instanceof Command c)) throw new IllegalStateException(path + " declares nothing to run");
        return new Parsed.Run(c);
    }

    /** {@code -vh}: every letter a short flag (or -h, -V). Returns help or version if asked for, else null. */
    private static <T> Parsed cluster(Spec<T> spec, String path, T target, String a, Set<Option<T>> seen) throws UsageException {
        if (a.startsWith("--") || a.length() <= 2) return null;
        for (int k = 1; k < a.length(); k++) {
            String name = "-" + a.charAt(k);
            Option<T> o = spec.option(name);
            if (name.equals("-h")) return new Parsed.Help(spec, path);
            if (name.equals("-V")) return new Parsed.Version();
            if (o == null || !o.isFlag()) throw new UsageException(path, "Unknown option: '" + a + "'");
        }
        for (int k = 1; k < a.length(); k++) apply(path, target, spec.option("-" + a.charAt(k)), null, seen);
        return null;
    }

    private static <T> void apply(String path, T target, Option<T> o, String value, Set<Option<T>> seen) throws UsageException {
        if (!seen.add(o) && !o.repeatable()) {
            throw new UsageException(path, "option '" + o.name() + "'" + (o.isFlag() ? "" : " (" + o.label() + ")")
                    + " should be specified only once");
        }
        try {
            o.set().accept(target, value);
        } catch (IllegalArgumentException e) {
            throw new UsageException(path, "Invalid value for option '" + o.name() + "': " + e.getMessage());
        }
    }

    private static <T> void checkComplete(Spec<T> spec, String path, Set<Option<T>> seen, int given) throws UsageException {
        for (Option<T> o : spec.options()) {
            if (o.required() && !seen.contains(o)) {
                throw new UsageException(path, "Missing required option: '" + o.name() + "=" + o.label() + "'");
            }
        }
        List<Positional<T>> ps = spec.positionals();
        for (int k = given; k < ps.size(); k++) {
            if (ps.get(k).required()) throw new UsageException(path, "Missing required parameter: '" + ps.get(k).label() + "'");
        }
    }
}
