/*
 * Drives Debian's SQLite (libsqlite3-dev's static library): builds a table of 100000 rows
 * in one transaction, indexes it, rolls a change back, commits another, and prints a dump of
 * the database (schema, every row in order, the integrity check). argv[1] is the journal
 * mode: "delete" (rollback journal) or "wal".
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db;

static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s (%d)\n", what, sqlite3_errmsg(db), rc);
        exit(1);
    }
}

static void exec(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static int print_row(void *unused, int n, char **values, char **names) {
    (void) unused;
    (void) names;
    for (int i = 0; i < n; i++) printf("%s%s", i ? "|" : "", values[i] ? values[i] : "NULL");
    printf("\n");
    return 0;
}

static void dump(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "delete";
    check(sqlite3_open("test.db", &db), "open");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA journal_mode=%s;", mode);
    dump(pragma);
    exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, v REAL, grp INTEGER);");
    exec("BEGIN;");
    sqlite3_stmt *ins;
    check(sqlite3_prepare_v2(db, "INSERT INTO t(name, v, grp) VALUES(?, ?, ?);", -1, &ins, NULL), "prepare");
    for (int i = 0; i < 100000; i++) {
        char name[32];
        snprintf(name, sizeof name, "row-%07d", (i * 7919) % 100000);
        sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 2, i * 0.5);
        sqlite3_bind_int(ins, 3, i % 97);
        check(sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec("COMMIT;");
    exec("CREATE INDEX t_name ON t(name);");
    exec("CREATE INDEX t_grp ON t(grp, v);");
    /* A change rolled back, then one committed. */
    exec("BEGIN; UPDATE t SET v = -1 WHERE grp = 3; DELETE FROM t WHERE id < 50000; ROLLBACK;");
    exec("BEGIN; DELETE FROM t WHERE grp = 5; UPDATE t SET name = name || '!' WHERE id % 1000 = 0; COMMIT;");
    dump("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name;");
    dump("SELECT count(*), sum(v), min(name), max(name) FROM t;");
    dump("SELECT grp, count(*), sum(v) FROM t GROUP BY grp ORDER BY grp;");
    dump("SELECT * FROM t INDEXED BY t_name WHERE name > 'row-0099900' ORDER BY name;");
    dump("SELECT id, name, v, grp FROM t ORDER BY id;");
    dump("PRAGMA integrity_check;");
    check(sqlite3_close(db), "close");
    return 0;
}
