// The queue database's schema and its migrations (see store_schema.hpp).
// Times are integer Unix seconds. Never edit a released migration: add one.
#include "spool/store_schema.hpp"

#include <sqlite3.h>

#include <array>
#include <string>

#include "spool/store_sql.hpp"

namespace mailqd {

namespace {

// Version 1: messages, per-recipient state, attempt history, relay counters,
// POP3 bookkeeping.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    sender      TEXT NOT NULL,
    submitter   TEXT NOT NULL,
    door        TEXT NOT NULL,
    spool_key   TEXT UNIQUE,            -- NULL unless it came from the spool directory
    data        BLOB NOT NULL,
    done_at     INTEGER                 -- set when every recipient is sent or failed
);
CREATE INDEX messages_done ON messages(done_at) WHERE done_at IS NOT NULL;
CREATE INDEX messages_waiting ON messages(received_at) WHERE done_at IS NULL;

CREATE TABLE recipients (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    address         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'deferred', 'held', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,            -- NULL unless queued or deferred
    last_reply      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recipients_message ON recipients(message_id, position);
-- due() and next_due_time(): only recipients that can be due are indexed.
CREATE INDEX recipients_due ON recipients(next_attempt_at) WHERE state IN ('queued', 'deferred');

CREATE TABLE attempts (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    recipient_id INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    relay        TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    reply        TEXT NOT NULL,
    state        TEXT NOT NULL
);
CREATE INDEX attempts_message ON attempts(message_id, at);

-- Counters, not a view over attempts, so totals survive the purge of done mail.
CREATE TABLE relay_totals (
    relay    TEXT PRIMARY KEY,
    sent     INTEGER NOT NULL DEFAULT 0,
    failed   INTEGER NOT NULL DEFAULT 0,
    deferred INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE uidls (
    mailbox    TEXT NOT NULL,
    uidl       TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uidl)
);

CREATE TABLE mailbox_status (
    mailbox       TEXT PRIMARY KEY,
    last_fetch_at INTEGER,
    fetched       INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
);
)sql";

// Version 2: when each relay last delivered and what its last error was, so
// `mailqctl stats` tells the same story after a restart.
constexpr const char* schema_v2 = R"sql(
ALTER TABLE relay_totals ADD COLUMN last_success_at INTEGER;
ALTER TABLE relay_totals ADD COLUMN last_error TEXT;
)sql";

// Version 3: the DSN parameters of RFC 3461 (spool/dsn_params.hpp), in
// their plain text forms. NULL is "not given", which is what every message
// queued before had: its bounces stay as they were.
constexpr const char* schema_v3 = R"sql(
ALTER TABLE messages ADD COLUMN dsn_ret TEXT;      -- FULL or HDRS
ALTER TABLE messages ADD COLUMN dsn_envid TEXT;    -- decoded ENVID
ALTER TABLE recipients ADD COLUMN dsn_notify TEXT; -- NEVER, or a list of SUCCESS,FAILURE,DELAY
ALTER TABLE recipients ADD COLUMN dsn_orcpt TEXT;  -- decoded ORCPT, "rfc822;a@b"
)sql";

// Version 4: messages per message state (message_state(): the first of
// held, deferred, queued, failed, sent that a recipient is in; their first
// letters rank them in 'hdqfs'), kept by triggers on every write, so stats
// and /metrics read five rows instead of scanning the queue. The state is
// recomputed from the message's own recipients (index recipients_message),
// never stored on the messages row: rewriting that row would rewrite its
// text. A new message counts as queued: Store::accept inserts every
// recipient queued. The SQL is terse on purpose: the schema's text must stay
// on the database's first page (test_store_faults corrupts all the others).
#define MAILQD_STATE_OF(ID, STATE)                             \
    "(SELECT " STATE " s FROM recipients WHERE message_id=" ID \
    " ORDER BY instr('hdqfs',substr(s,1,1)) "                  \
    "LIMIT 1)"
constexpr const char* schema_v4 =
    "CREATE TABLE message_counts(state TEXT PRIMARY KEY,n INT NOT NULL)WITHOUT ROWID;\n"
    "INSERT INTO message_counts VALUES('queued',0),('deferred',0),('held',0),('sent',0),('failed',0);\n"
    "UPDATE message_counts SET n=(SELECT count(*) FROM messages m WHERE " MAILQD_STATE_OF(
        "m.id", "state") "=message_counts.state);\n"
    "CREATE TRIGGER mc_i AFTER INSERT ON messages BEGIN "
    "UPDATE message_counts SET n=n+1 WHERE state='queued';END;\n"
    // After a recipient's change: its message's state as it was (the row
    // with its old state) and as it is.
    "CREATE TRIGGER mc_u AFTER UPDATE OF state ON recipients WHEN OLD.state<>NEW.state BEGIN "
    "UPDATE message_counts SET n=n-1 WHERE state=" MAILQD_STATE_OF(
        "NEW.message_id", "CASE id WHEN NEW.id THEN OLD.state ELSE state END") ";"
    "UPDATE message_counts SET n=n+1 WHERE state=" MAILQD_STATE_OF("NEW.message_id", "state") ";END;\n"
    // BEFORE: the recipients are still there (ON DELETE CASCADE removes them
    // with the message).
    "CREATE TRIGGER mc_d BEFORE DELETE ON messages BEGIN "
    "UPDATE message_counts SET n=n-1 WHERE state=" MAILQD_STATE_OF("OLD.id", "state") ";END;\n";
#undef MAILQD_STATE_OF

constexpr std::array<Migration, 4> all_migrations{{
    {1, schema_v1},
    {2, schema_v2},
    {3, schema_v3},
    {4, schema_v4},
}};

Status apply(sqlite3* db, const Migration& m)
{
    if (auto st = exec_sql(db, "BEGIN IMMEDIATE"); !st) return st;
    // Another process may have migrated while this one waited for the lock.
    if (auto now_at = read_schema_version(db); !now_at || *now_at >= m.version) {
        (void)exec_sql(db, "ROLLBACK");  // nothing was written
        return now_at ? Status{} : Status{now_at.error()};
    }
    // The version is a constant of this file, not an outside value, and
    // PRAGMA takes no bound parameters.
    const std::string set_version = "PRAGMA user_version = " + std::to_string(m.version);
    Status st = exec_sql(db, m.sql);
    if (st) st = exec_sql(db, set_version.c_str());
    if (st) st = exec_sql(db, "COMMIT");
    if (!st) {
        (void)exec_sql(db, "ROLLBACK");  // already failing: the first error is the one to report
        return st.error().context("migrating to schema version " + std::to_string(m.version));
    }
    return {};
}

}  // namespace

std::span<const Migration> migrations() { return all_migrations; }

int latest_schema_version() { return all_migrations.back().version; }

Result<int> read_schema_version(sqlite3* db)
{
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db, rc, "reading the schema version");
    Statement statement(stmt, nullptr, true);
    auto row = statement.step();
    if (!row) return row.error();
    return static_cast<int>(*row ? statement.integer(0) : 0);
}

Status migrate(sqlite3* db, int target)
{
    if (target <= 0) target = latest_schema_version();
    auto version = read_schema_version(db);
    if (!version) return version.error();
    if (*version > latest_schema_version())
        return make_error(ErrorKind::config, "queue database has schema version " + std::to_string(*version) +
                                                 ", newer than this mailqd understands (" +
                                                 std::to_string(latest_schema_version()) +
                                                 "); refusing to use it");
    for (const Migration& m : all_migrations) {
        if (m.version <= *version || m.version > target) continue;
        if (auto st = apply(db, m); !st) return st;
    }
    return {};
}

}  // namespace mailqd
