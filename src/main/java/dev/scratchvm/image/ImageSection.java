package dev.scratchvm.image;

/**
 * One entry of the image's section table.
 *
 * @param type   what the section holds
 * @param offset byte offset in the file
 * @param length byte length
 * @param crc32c CRC32C of the section's bytes (0 for MEMORY, which is checksummed per run)
 */
public record ImageSection(Type type, long offset, long length, int crc32c) {

    /** Section types and their codes in the section table. */
    public enum Type {
        STATE(1), PAGEMAP(2), MEMORY(3);

        final int code;

        Type(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }
}
