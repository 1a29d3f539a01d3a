// The durable queue (see store.hpp): opening and migrating the database,
// transactions for the StoreWriter, intake and scheduling. The admin verbs
// are in store_admin.cpp, POP3 bookkeeping in store_pop3.cpp.
// Trusts nothing it is handed: every value reaches SQLite as a bound parameter.
#include "spool/store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>

#include "spool/store_schema.hpp"
#include "spool/store_sql.hpp"

namespace mailqd {

namespace {

constexpr int busy_timeout_ms = 5000;
constexpr int queue_id_tries = 8;

Status set_pragmas(sqlite3* db)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db, rc, "PRAGMA journal_mode");
    Statement journal(stmt, nullptr, true);
    auto row = journal.step();
    if (!row) return row.error();
    // A file system without shared memory (some network mounts) keeps the
    // old journal: refuse rather than run with different durability.
    if (!*row || journal.text(0) != "wal")
        return make_error(ErrorKind::failure, "queue database: cannot switch to WAL journal mode");
    for (const char* pragma : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"})
        if (auto st = exec_sql(db, pragma); !st) return st;
    return {};
}

// An attempt that lands on a held recipient (the admin held the message
// while it was in flight) keeps it held unless it settled it for good.
RecipientState settled_state(RecipientState before, RecipientState outcome)
{
    if (before == RecipientState::held && outcome == RecipientState::deferred) return RecipientState::held;
    return outcome;
}

Status bump_relay_totals(StatementCache& cache, const AttemptOutcome& o, TimePoint now)
{
    auto s = cache.prepare(
        "INSERT INTO relay_totals (relay, sent, failed, deferred, last_success_at, last_error) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (relay) DO UPDATE SET sent = sent + excluded.sent, "
        "failed = failed + excluded.failed, deferred = deferred + excluded.deferred, "
        "last_success_at = coalesce(excluded.last_success_at, last_success_at), "
        "last_error = coalesce(excluded.last_error, last_error)");
    if (!s) return s.error();
    const bool sent = o.state == RecipientState::sent;
    const std::optional<TimePoint> success = sent ? std::optional(now) : std::nullopt;
    const std::optional<std::string> error = sent ? std::nullopt : std::optional(o.reply);
    return s
        ->bind_all(o.relay, std::int64_t{sent}, std::int64_t{o.state == RecipientState::failed},
                   std::int64_t{o.state == RecipientState::deferred}, success, error)
        .run();
}

Status mark_done_if_complete(StatementCache& cache, const std::string& message_id, TimePoint now)
{
    auto s = cache.prepare(
        "UPDATE messages SET done_at = ?1 WHERE id = ?2 AND done_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM recipients WHERE message_id = ?2 AND state NOT IN ('sent', 'failed'))");
    if (!s) return s.error();
    return s->bind_all(now, message_id).run();
}

std::string due_query(const char* range)
{
    return std::string(
               "SELECT r.id, r.message_id, m.sender, r.address, r.attempts, m.received_at, "
               "r.next_attempt_at, "
               "m.dsn_ret, m.dsn_envid, r.dsn_notify, r.dsn_orcpt "
               "FROM recipients r JOIN messages m ON m.id = r.message_id "
               "WHERE r.state IN ('queued', 'deferred') AND ") +
           range;
}

// The DSN parameters as stored (NULL: not given). The store wrote them, but
// a word it does not know (a damaged row) reads as "not given" rather than
// stopping delivery.
DueRecipient due_from_row(const Statement& row)
{
    DueRecipient due{row.integer(0), row.text(1), row.text(2), row.text(3), static_cast<int>(row.integer(4)),
                     row.time(5),    row.time(6), {},          {}};
    due.message_dsn.ret = parse_dsn_ret(row.text(7)).value_or(DsnRet::unspecified);
    due.message_dsn.envid = row.text(8);
    if (auto notify = row.optional_text(9)) due.dsn.notify = parse_dsn_notify(*notify).value_or(DsnNotify{});
    due.dsn.orcpt = row.text(10);
    return due;
}

std::optional<std::string> null_if_empty(std::string_view text)
{
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

}  // namespace

Store::Store(sqlite3* db) : db_(db), statements_(std::make_unique<StatementCache>(db)) {}

Store::~Store()
{
    statements_.reset();  // statements are finalized before the connection closes
    sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& database, OpenMode mode)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (mode == OpenMode::create) {
        std::error_code ignored;  // if this fails, sqlite3_open_v2 says why
        if (database.has_parent_path()) std::filesystem::create_directories(database.parent_path(), ignored);
        flags |= SQLITE_OPEN_CREATE;
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(database.c_str(), &db, flags, nullptr);
    std::unique_ptr<Store> store(new Store(db));  // owns db even when the open failed
    const std::string what = "opening " + database.string();
    if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
    if (auto st = set_pragmas(db); !st) return st.error().context(what);
    if (auto st = migrate(db); !st) return st.error().context(what);
    store->path_ = database;
    struct stat st {};
    if (::stat(database.c_str(), &st) == 0) {
        store->device_ = st.st_dev;
        store->inode_ = st.st_ino;
    }
    return store;
}

std::optional<std::string> Store::write_fault() const
{
    if (sqlite3_db_readonly(db_, "main") == 1)
        return "queue database: " + path_.string() + " is read-only to the daemon";
    if (path_.empty() || inode_ == 0) return std::nullopt;  // an in-memory store, or stat failed at open
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0 || st.st_dev != device_ || st.st_ino != inode_)
        return "queue database: " + path_.string() +
               " is no longer the file the daemon opened (moved or deleted)";
    return std::nullopt;
}

int Store::schema_version() const
{
    auto v = read_schema_version(db_);
    return v ? *v : -1;
}

bool Store::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

Status Store::begin() { return control("BEGIN IMMEDIATE"); }

Status Store::commit() { return control("COMMIT"); }

void Store::rollback()
{
    if (in_transaction()) (void)exec_sql(db_, "ROLLBACK");  // nothing better to do if even this fails
}

Status Store::savepoint() { return control("SAVEPOINT job"); }

Status Store::release_savepoint() { return control("RELEASE job"); }

void Store::rollback_to_savepoint()
{
    // After a full disk SQLite may have rolled back the whole transaction
    // already; then there is no savepoint left to undo.
    if (in_transaction()) (void)exec_sql(db_, "ROLLBACK TO job; RELEASE job");
}

Result<Statement> Store::sql(const char* text) { return statements_->prepare(text); }

Status Store::control(const char* text)
{
    auto s = sql(text);
    if (!s) return s.error();
    return s->run();
}

Status Store::atomically(const std::function<Status()>& body, bool write)
{
    const bool outer = !in_transaction();
    if (auto st = control(outer ? (write ? "BEGIN IMMEDIATE" : "BEGIN") : "SAVEPOINT op"); !st) return st;
    Status st = body();
    if (st) st = control(outer ? "COMMIT" : "RELEASE op");
    if (!st && in_transaction())
        (void)exec_sql(db_, outer ? "ROLLBACK" : "ROLLBACK TO op; RELEASE op");  // reporting st
    return st;
}

Status Store::limit_size_for_tests(std::uint64_t pages)
{
    // A number this function formats, not an outside value; PRAGMA takes no parameters.
    const std::string pragma = "PRAGMA max_page_count = " + std::to_string(pages == 0 ? 1073741823 : pages);
    return exec_sql(db_, pragma.c_str());
}

// --- intake ---

Result<std::optional<std::string>> Store::lookup_spool_key(const std::string& spool_key)
{
    auto s = sql("SELECT id FROM messages WHERE spool_key = ?1");
    if (!s) return s.error();
    auto row = s->bind_all(spool_key).step();
    if (!row) return row.error();
    return *row ? std::optional(s->text(0)) : std::nullopt;
}

std::optional<std::string> Store::find_by_spool_key(const std::string& spool_key)
{
    auto id = lookup_spool_key(spool_key);
    return id ? *id : std::nullopt;
}

// 12 uppercase hex digits of 48 bits: milliseconds since 2020 (40 bits,
// which wrap after 34 years) and 8 bits of sequence, never below the last
// ID this connection made. Time-ordered IDs land at the right edge of the
// messages' primary key and of recipients(message_id, ...), so a batch of
// accepts dirties a few index pages instead of one random leaf per message
// and index (bench/submit, 16 clients: a third fewer bytes written per
// message).
// Uniqueness is still checked, against other connections and clock steps.
Result<std::string> Store::new_queue_id()
{
    static constexpr char hex[] = "0123456789ABCDEF";
    static constexpr std::int64_t epoch_2020_ms = 1577836800000;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() -
                        epoch_2020_ms;
    std::uint64_t value = (static_cast<std::uint64_t>(now_ms) << 8) & 0xFFFFFFFFFFFFull;
    for (int i = 0; i < queue_id_tries; ++i) {
        if (value <= last_queue_id_ && last_queue_id_ - value < (1ull << 32))
            value = last_queue_id_ + 1;  // same millisecond, or the clock stepped back a little
        last_queue_id_ = value;
        std::string id(12, '0');
        for (int d = 11; d >= 0; --d, value >>= 4) id[static_cast<std::size_t>(d)] = hex[value & 0xf];
        value = last_queue_id_;
        auto s = sql("SELECT 1 FROM messages WHERE id = ?1");
        if (!s) return s.error();
        auto taken = s->bind_all(id).step();
        if (!taken) return taken.error();
        if (!*taken) return id;
    }
    return make_error(ErrorKind::failure, "queue database: no free queue ID");
}

Status Store::insert_message(const std::string& id, const NewMessage& m, TimePoint now)
{
    auto s =
        sql("INSERT INTO messages (id, received_at, size, sender, submitter, door, spool_key, data, dsn_ret, "
            "dsn_envid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!s) return s.error();
    s->bind_all(id, now, std::int64_t(m.data.size()), m.sender, m.submitter, m.door,
                null_if_empty(m.spool_key))
        .bind_blob(8, m.data)
        .bind(9, null_if_empty(to_string(m.dsn.ret)))
        .bind(10, null_if_empty(m.dsn.envid));
    if (auto st = s->run(); !st) return st;
    for (std::size_t i = 0; i < m.recipients.size(); ++i) {
        auto r =
            sql("INSERT INTO recipients (message_id, position, address, state, next_attempt_at, dsn_notify, "
                "dsn_orcpt) VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6)");
        if (!r) return r.error();
        const RecipientDsn dsn = i < m.recipient_dsn.size() ? m.recipient_dsn[i] : RecipientDsn{};
        if (auto st = r->bind_all(id, std::int64_t(i), m.recipients[i], now,
                                  null_if_empty(to_string(dsn.notify)), null_if_empty(dsn.orcpt))
                          .run();
            !st)
            return st;
    }
    return {};
}

Result<std::string> Store::accept(const NewMessage& message, TimePoint now)
{
    if (message.recipients.empty()) return make_error(ErrorKind::bad_message, "message has no recipients");
    if (!message.recipient_dsn.empty() && message.recipient_dsn.size() != message.recipients.size())
        return make_error(ErrorKind::usage, "DSN parameters for " +
                                                std::to_string(message.recipient_dsn.size()) + " of " +
                                                std::to_string(message.recipients.size()) + " recipients");
    std::string id;
    Status st = atomically([&]() -> Status {
        if (!message.spool_key.empty()) {
            auto earlier = lookup_spool_key(message.spool_key);
            if (!earlier) return earlier.error();
            if (*earlier) {
                id = **earlier;
                return {};
            }
        }
        auto fresh = new_queue_id();
        if (!fresh) return fresh.error();
        id = *fresh;
        return insert_message(id, message, now);
    });
    if (!st) return st.error();
    return id;
}

// --- scheduling ---

// After a cursor, in two ranges of recipients_due that SQLite seeks to
// directly: the rest of the cursor's second (by rowid), then later seconds.
// (A row value comparison on (next_attempt_at, id) would scan from the
// start of the second instead.)
Result<std::vector<DueRecipient>> Store::due(TimePoint now, std::size_t limit, std::optional<DueCursor> after)
{
    std::vector<DueRecipient> due;
    auto read = [&](Statement& s) {
        return each_row(s, [&](const Statement& row) { due.push_back(due_from_row(row)); });
    };
    if (!after) {
        static const std::string all =
            due_query("r.next_attempt_at <= ?1 ORDER BY r.next_attempt_at, r.id LIMIT ?2");
        auto s = sql(all.c_str());
        if (!s) return s.error();
        if (auto st = read(s->bind_all(now, std::int64_t(limit))); !st) return st.error();
        return due;
    }
    if (after->next_attempt_at <= now) {
        static const std::string rest =
            due_query("r.next_attempt_at = ?1 AND r.id > ?2 ORDER BY r.id LIMIT ?3");
        auto s = sql(rest.c_str());
        if (!s) return s.error();
        if (auto st = read(s->bind_all(after->next_attempt_at, after->recipient_id, std::int64_t(limit)));
            !st)
            return st.error();
    }
    if (due.size() < limit) {
        static const std::string later = due_query(
            "r.next_attempt_at > ?1 AND r.next_attempt_at <= ?2 ORDER BY r.next_attempt_at, r.id LIMIT ?3");
        auto s = sql(later.c_str());
        if (!s) return s.error();
        if (auto st = read(s->bind_all(after->next_attempt_at, now, std::int64_t(limit - due.size()))); !st)
            return st.error();
    }
    return due;
}

std::optional<TimePoint> Store::next_due_time()
{
    auto s =
        sql("SELECT next_attempt_at FROM recipients WHERE state IN ('queued', 'deferred') "
            "AND next_attempt_at IS NOT NULL ORDER BY next_attempt_at LIMIT 1");
    if (!s) return std::nullopt;
    auto row = s->step();
    if (!row || !*row) return std::nullopt;
    return s->time(0);
}

std::optional<TimePoint> Store::next_due_time(TimePoint after)
{
    auto s =
        sql("SELECT next_attempt_at FROM recipients WHERE state IN ('queued', 'deferred') "
            "AND next_attempt_at > ?1 ORDER BY next_attempt_at LIMIT 1");
    if (!s) return std::nullopt;
    auto row = s->bind_all(after).step();
    if (!row || !*row) return std::nullopt;
    return s->time(0);
}

Status Store::apply_outcome(const AttemptOutcome& o, TimePoint now)
{
    auto find = sql("SELECT message_id, address, state FROM recipients WHERE id = ?1");
    if (!find) return find.error();
    auto row = find->bind_all(o.recipient_id).step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "unknown recipient " + std::to_string(o.recipient_id));
    const std::string message_id = find->text(0), address = find->text(1);
    const auto before = recipient_state_from(find->text(2)).value_or(RecipientState::queued);
    if (is_done(before))
        return make_error(ErrorKind::failure, "recipient " + address + " of " + message_id + " is already " +
                                                  std::string(to_string(before)));
    const RecipientState after = settled_state(before, o.state);
    const std::optional<TimePoint> next =
        after == RecipientState::deferred ? std::optional(o.next_attempt_at.value_or(now)) : std::nullopt;
    auto update =
        sql("UPDATE recipients SET state = ?1, attempts = attempts + 1, next_attempt_at = ?2, "
            "last_reply = ?3 WHERE id = ?4");
    if (!update) return update.error();
    if (auto st = update->bind_all(to_string(after), next, o.reply, o.recipient_id).run(); !st) return st;
    auto history =
        sql("INSERT INTO attempts (message_id, recipient_id, at, relay, recipient, reply, state) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!history) return history.error();
    if (auto st =
            history->bind_all(message_id, o.recipient_id, now, o.relay, address, o.reply, to_string(o.state))
                .run();
        !st)
        return st;
    if (auto st = bump_relay_totals(*statements_, o, now); !st) return st;
    return mark_done_if_complete(*statements_, message_id, now);
}

Status Store::record_attempt(const AttemptOutcome& outcome, TimePoint now)
{
    if (outcome.state != RecipientState::sent && outcome.state != RecipientState::deferred &&
        outcome.state != RecipientState::failed)
        return make_error(ErrorKind::usage, "an attempt ends sent, deferred or failed, not " +
                                                std::string(to_string(outcome.state)));
    return atomically([&] { return apply_outcome(outcome, now); });
}

Result<std::string> Store::message_data(const std::string& id)
{
    auto s = sql("SELECT data FROM messages WHERE id = ?1");
    if (!s) return s.error();
    auto row = s->bind_all(id).step();
    if (!row) return row.error();
    if (!*row) return make_error(ErrorKind::not_found, "unknown queue ID " + id);
    return s->text(0);
}

Result<SendableMessage> Store::sendable(const std::string& id)
{
    SendableMessage message;
    Status st = atomically(
        [&]() -> Status {
            auto data = message_data(id);
            if (!data) return data.error();
            message.data = std::move(*data);
            auto s = sql("SELECT id, state FROM recipients WHERE message_id = ?1");
            if (!s) return s.error();
            return each_row(s->bind_all(id), [&](const Statement& row) {
                message.recipients.emplace_back(
                    row.integer(0), recipient_state_from(row.text(1)).value_or(RecipientState::queued));
            });
        },
        false);
    if (!st) return st.error();
    return message;
}

}  // namespace mailqd
