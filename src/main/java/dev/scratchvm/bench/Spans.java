package dev.scratchvm.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a migration's time went, from the {@code *_ns} span fields both VMMs write to their
 * metrics files (client {@code phase_*}, {@code stop_ns}, {@code last_round_ns}; the server's
 * {@code phase_*}), collected over the rounds of a scenario and reported as medians.
 */
final class Spans {
    private final Map<String, List<Double>> spans = new LinkedHashMap<>();

    /** Adds the span fields of one event, each under {@code side} + its name without {@code phase_} and {@code _ns}. */
    void add(String side, Map<String, Object> event) {
        for (Map.Entry<String, Object> e : event.entrySet()) {
            String k = e.getKey();
            boolean span = k.startsWith("phase_") || k.equals("stop_ns") || k.equals("last_round_ns");
            if (!span || !k.endsWith("_ns") || !(e.getValue() instanceof Number n)) continue;
            String name = side + " " + k.replaceFirst("^phase_", "").replaceFirst("_ns$", "");
            spans.computeIfAbsent(name, x -> new ArrayList<>()).add(n.doubleValue() / 1e6);
        }
    }

    /** "client stop 1.2, client state 0.4, ... ms (medians)", or null if nothing was recorded. */
    String note() {
        if (spans.isEmpty()) return null;
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, List<Double>> e : spans.entrySet()) {
            b.append(b.isEmpty() ? "" : ", ").append(e.getKey()).append(String.format(Locale.ROOT, " %.1f", Stats.of(e.getValue()).median()));
        }
        return b.append(" ms (medians)").toString();
    }
}
