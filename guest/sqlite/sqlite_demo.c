/*
 * SQLite in a rollback-journal database (POSIX record locks, journal files, fsync):
 * creates a table, fills it in a transaction, rolls one back, and prints what it reads.
 * Output is deterministic. Built with gcc against the system's static libsqlite3, so it is
 * not among guest/tests (every program there must build with musl too).
 *   sqlite_demo DB           the above
 *   sqlite_demo DB hold      begins an exclusive transaction, prints "holding", waits for a
 *                            line on stdin, then adds a row and commits
 *   sqlite_demo DB count     prints the number of rows, or the error (e.g. "database is locked")
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static sqlite3 *db;

static int exec(const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        printf("%s: %s\n", sql, err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
    }
    return rc;
}

static void query(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        printf("%s: %s\n", sql, sqlite3_errmsg(db));
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        printf("%s ->", sql);
        for (int i = 0; i < sqlite3_column_count(st); i++)
            printf(" %s", (const char *)sqlite3_column_text(st, i));
        printf("\n");
    }
    sqlite3_finalize(st);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || sqlite3_open(argv[1], &db) != SQLITE_OK) {
        printf("cannot open the database\n");
        return 1;
    }
    if (argc > 2 && strcmp(argv[2], "count") == 0) {
        query("SELECT count(*) FROM t");
        return 0;
    }
    if (argc > 2 && strcmp(argv[2], "hold") == 0) {
        if (exec("BEGIN EXCLUSIVE") != SQLITE_OK)
            return 1;
        printf("holding\n");
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            return 1;
        int rc = exec("INSERT INTO t VALUES (1000, 'held'); COMMIT");
        printf("committed: %s\n", rc == SQLITE_OK ? "yes" : "no");
        return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
    }
    int failed = exec("PRAGMA journal_mode=DELETE") | exec("CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT)");
    failed |= exec("BEGIN");
    for (int i = 1; i <= 500 && !failed; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d, 'row %d')", i, i * 7 % 101);
        failed |= exec(sql);
    }
    failed |= exec("COMMIT");
    failed |= exec("BEGIN; DELETE FROM t WHERE n > 100; ROLLBACK");
    failed |= exec("UPDATE t SET s = 'changed' WHERE n % 50 = 0");
    query("SELECT count(*), sum(n), max(s) FROM t");
    query("SELECT s FROM t WHERE n IN (50, 51, 500)");
    query("PRAGMA integrity_check");
    printf("sqlite: %s\n", failed || sqlite3_close(db) != SQLITE_OK ? "FAILED" : "ok");
    return failed;
}
