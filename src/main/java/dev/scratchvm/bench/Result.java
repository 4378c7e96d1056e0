package dev.scratchvm.bench;

/**
 * One line of the benchmark table: a figure, the floor it is compared with (measured in
 * the same run), and the target from the project's goals (null when there is none).
 *
 * @param ratio  value median / floor median
 * @param target e.g. "<= 1.25x floor" or "<= 5 ms"; {@code met} says whether the median meets it
 */
public record Result(String scenario, String unit, Stats value, String floorName, Stats floor, String target,
                     Boolean met, String note) {
    public double ratio() {
        return floor == null || floor.median() == 0 ? Double.NaN : value.median() / floor.median();
    }
}
