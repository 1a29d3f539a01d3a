// The store's thin layer over the SQLite C API (see store_sql.hpp).
#include "spool/store_sql.hpp"

#include <sqlite3.h>

namespace mailqd {

Error sqlite_error(sqlite3* db, int rc, std::string_view what)
{
    // Only a value too big for SQLite is the message's own fault. Everything
    // else (a full disk, a read-only or corrupted file, a file that cannot be
    // opened, an unexpected code) is the queue's, and a submitter told 5xx
    // drops its mail: temporary, so it comes back once the admin fixed it.
    const bool own_fault = (rc & 0xff) == SQLITE_TOOBIG;
    std::string text = db != nullptr && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return make_error(own_fault ? ErrorKind::bad_message : ErrorKind::temporary,
                      "queue database: " + std::string(what) + ": " + text);
}

Status exec_sql(sqlite3* db, const char* sql)
{
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return {};
    Error error = sqlite_error(db, rc, sql);
    if (message != nullptr) {
        error.message = "queue database: " + std::string(sql) + ": " + message;
        sqlite3_free(message);
    }
    return error;
}

Statement::Statement(sqlite3_stmt* stmt, bool* in_use, bool owned) noexcept
    : stmt_(stmt), in_use_(in_use), owned_(owned)
{
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(other.stmt_), in_use_(other.in_use_), owned_(other.owned_), bind_error_(other.bind_error_)
{
    other.stmt_ = nullptr;
    other.in_use_ = nullptr;
    other.owned_ = false;
}

Statement::~Statement()
{
    if (stmt_ == nullptr) return;
    if (owned_) {
        sqlite3_finalize(stmt_);
        return;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (in_use_ != nullptr) *in_use_ = false;
}

void Statement::note(int rc)
{
    if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

Statement& Statement::bind(int index, std::int64_t value)
{
    note(sqlite3_bind_int64(stmt_, index, value));
    return *this;
}

// SQLITE_TRANSIENT: SQLite copies the text, so a temporary argument is safe.
Statement& Statement::bind(int index, std::string_view text)
{
    note(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}

Statement& Statement::bind(int index, std::nullopt_t)
{
    note(sqlite3_bind_null(stmt_, index));
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view data)
{
    note(sqlite3_bind_blob64(stmt_, index, data.data(), data.size(), SQLITE_TRANSIENT));
    return *this;
}

int Statement::parameter_count() const { return sqlite3_bind_parameter_count(stmt_); }

Result<bool> Statement::step()
{
    sqlite3* db = sqlite3_db_handle(stmt_);
    if (bind_error_ != 0) return sqlite_error(db, bind_error_, "bind");
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db, rc, sqlite3_sql(stmt_));
}

Status Statement::run()
{
    for (;;) {
        auto row = step();
        if (!row) return row.error();
        if (!*row) return {};
    }
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const
{
    // Blob-typed columns (message data) are read the same way.
    const void* data = sqlite3_column_blob(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr) return {};
    return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::optional<std::int64_t> Statement::optional_integer(int column) const
{
    if (is_null(column)) return std::nullopt;
    return integer(column);
}

std::optional<std::string> Statement::optional_text(int column) const
{
    if (is_null(column)) return std::nullopt;
    return text(column);
}

std::optional<TimePoint> Statement::optional_time(int column) const
{
    if (is_null(column)) return std::nullopt;
    return time(column);
}

StatementCache::~StatementCache()
{
    for (auto& [sql, entry] : entries_) sqlite3_finalize(entry.stmt);
}

Result<Statement> StatementCache::prepare(std::string_view sql)
{
    auto it = entries_.find(std::string(sql));
    if (it != entries_.end() && !it->second.in_use) {
        it->second.in_use = true;
        return Statement(it->second.stmt, &it->second.in_use, false);
    }
    // A statement still stepping in an outer loop gets a private twin.
    const bool cache = it == entries_.end();
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare " + std::string(sql));
    if (!cache) return Statement(stmt, nullptr, true);
    auto& entry = entries_[std::string(sql)];
    entry = Entry{stmt, true};
    return Statement(stmt, &entry.in_use, false);
}

}  // namespace mailqd
