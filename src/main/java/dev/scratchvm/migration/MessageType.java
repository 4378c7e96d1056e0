package dev.scratchvm.migration;

import dev.scratchvm.image.PageMap;
import dev.scratchvm.image.StateLimits;

/**
 * The message types of protocols 1 and 2 (16 to 21 are 2's only) and the largest payload each may have. A reader checks the
 * length in a frame header against this before reading the payload, so a hostile length can
 * never make it allocate or wait for more (docs/migration-protocol.md, "Messages").
 */
enum MessageType {
    HELLO(1, Messages.Hello.BYTES),
    CHALLENGE(2, Messages.Challenge.BYTES),
    AUTH(3, Messages.Auth.BYTES),
    STATE(4, 4L + StateLimits.MAX_ENCODED_BYTES),
    ACCEPT(5, 4L + 4L * StateLimits.MAX_FILES),
    FILE(6, Messages.FileHeader.BYTES),
    FILE_DATA(7, Messages.FILE_CHUNK),
    MEMORY(8, Messages.MemoryRun.BYTES + (long) PageMap.MAX_RUN_PAGES * Messages.PAGE),
    END(9, Messages.End.BYTES),
    READY(10, 0),
    COMMIT(11, 0),
    COMMITTED(12, 0),
    BYE(13, 0),
    QUERY(14, Messages.Query.BYTES),
    OUTCOME(15, 1),
    PREPARE(16, Messages.Prepare.MAX_BYTES),
    PREPARED(17, 0),
    PLAN(18, Messages.Plan.MAX_BYTES),
    ROUND(19, Messages.Round.BYTES),
    ZERO(20, Messages.MemoryRun.BYTES),
    ROUND_DONE(21, 4),
    ERROR(255, 2 + Messages.MAX_ERROR_TEXT);

    final int code;
    final long maxLength;

    MessageType(int code, long maxLength) {
        this.code = code;
        this.maxLength = maxLength;
    }

    static MessageType of(int code) {
        for (MessageType t : values()) if (t.code == code) return t;
        return null;
    }
}
