package dev.scratchvm.bench;

import java.util.Arrays;
import java.util.List;

/** Min / median / max of repeated measurements. */
public record Stats(double min, double median, double max, int samples) {
    public static Stats of(List<Double> values) {
        if (values.isEmpty()) throw new IllegalArgumentException("no samples");
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return new Stats(v[0], median, v[v.length - 1], v.length);
    }

    @Override
    public String toString() {
        return Arrays.toString(new double[]{min, median, max});
    }
}
