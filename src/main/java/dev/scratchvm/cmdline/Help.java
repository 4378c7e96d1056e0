package dev.scratchvm.cmdline;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The {@code --help} text of a command, laid out to fit an 80-column terminal. */
final class Help {
    private static final int WIDTH = 79;
    /** Option names longer than this put their description on the next line. */
    private static final int NAME_COLUMN_MAX = 20;

    private Help() {
    }

    private record Row(String shortName, String name, String help) {
    }

    static <T> String of(Spec<T> spec, String path) {
        StringBuilder out = new StringBuilder();
        wrap(out, "Usage: " + path + " ", synopsis(spec));
        wrap(out, "", List.of(spec.description().split(" ")));
        List<Row> rows = new ArrayList<>();
        for (Positional<T> p : spec.positionals()) rows.add(new Row("", p.synopsis(), p.help()));
        List<Row> options = new ArrayList<>();
        options.add(new Row("-h", "--help", "Show this help message and exit."));
        options.add(new Row("-V", "--version", "Print version information and exit."));
        for (Option<T> o : spec.options()) {
            String shortName = o.names().size() > 1 ? o.names().getFirst() : "";
            options.add(new Row(shortName, o.name() + (o.isFlag() ? "" : "=" + o.label()), o.help()));
        }
        options.sort(Comparator.comparing(r -> r.name().substring(2).toLowerCase(java.util.Locale.ROOT)));
        rows.addAll(options);
        int width = 0;
        for (Row r : rows) if (r.name().length() <= NAME_COLUMN_MAX) width = Math.max(width, r.name().length());
        String indent = " ".repeat(6 + width + 3);
        for (Row r : rows) {
            String head = (r.shortName().isEmpty() ? "    " : "  " + r.shortName()) + (r.shortName().isEmpty() ? "  " : ", ") + r.name();
            if (r.name().length() > width) {
                out.append(head).append('\n');
                head = "";
            }
            String first = head.isEmpty() ? indent : head + " ".repeat(indent.length() - head.length());
            wrap(out, first, indent + "  ", List.of(r.help().split(" ")));
        }
        List<Spec<?>> visible = spec.subcommands().stream().filter(s -> !s.isHidden()).toList();
        if (!visible.isEmpty()) {
            out.append("Commands:\n");
            int w = "help".length();
            for (Spec<?> s : visible) w = Math.max(w, s.name().length());
            String subIndent = " ".repeat(2 + w + 2);
            for (Spec<?> s : visible) {
                wrap(out, "  " + s.name() + " ".repeat(w - s.name().length() + 2), subIndent + "  ", List.of(s.description().split(" ")));
            }
        }
        return out.toString();
    }

    /** {@code [-hvV] [--flag] [--opt=LABEL] [--many=LABEL]... --needed=LABEL PARAM [REST...] COMMAND}, as words. */
    private static <T> List<String> synopsis(Spec<T> spec) {
        StringBuilder shorts = new StringBuilder("h");
        List<String> flags = new ArrayList<>(), values = new ArrayList<>(), many = new ArrayList<>(), needed = new ArrayList<>();
        for (Option<T> o : spec.options()) {
            if (o.isFlag() && o.names().size() > 1) shorts.append(o.names().getFirst().charAt(1));
            else if (o.isFlag()) flags.add("[" + o.name() + "]");
            else if (o.required()) needed.add(o.name() + "=" + o.label());
            else if (o.repeatable()) many.add("[" + o.name() + "=" + o.label() + "]...");
            else values.add("[" + o.name() + "=" + o.label() + "]");
        }
        shorts.append('V');
        char[] cs = shorts.toString().toCharArray();
        java.util.Arrays.sort(cs);
        // lower case before upper case, as in -hvV
        String lower = new String(cs).replaceAll("[A-Z]", ""), upper = new String(cs).replaceAll("[^A-Z]", "");
        List<String> words = new ArrayList<>();
        words.add("[-" + lower + upper + "]");
        flags.sort(null);
        values.sort(null);
        many.sort(null);
        needed.sort(null);
        words.addAll(flags);
        words.addAll(values);
        words.addAll(many);
        words.addAll(needed);
        for (Positional<T> p : spec.positionals()) words.add(p.synopsis());
        if (!spec.subcommands().isEmpty()) words.add("COMMAND");
        return words;
    }

    private static void wrap(StringBuilder out, String first, List<String> words) {
        wrap(out, first, " ".repeat(first.length()), words);
    }

    /** Words after {@code first}, continued on lines starting with {@code indent}, each line at most 80 columns where words allow. */
    private static void wrap(StringBuilder out, String first, String indent, List<String> words) {
        StringBuilder line = new StringBuilder(first);
        boolean empty = true;
        for (String w : words) {
            if (!empty && line.length() + 1 + w.length() > WIDTH) {
                out.append(line).append('\n');
                line = new StringBuilder(indent);
                empty = true;
            }
            if (!empty) line.append(' ');
            line.append(w);
            empty = false;
        }
        out.append(line.toString().stripTrailing()).append('\n');
    }
}
