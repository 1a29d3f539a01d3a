// The store's thin layer over the SQLite C API: a prepared-statement cache,
// an RAII statement that binds parameters (never values pasted into SQL
// text), and the mapping of SQLite result codes to ErrorKind. Internal to
// the store's .cpp files; nothing else in mailqd includes it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mailqd {

// A full disk, an I/O error or a lock held too long is temporary (the
// submit server answers 452, mailqctl exits 75); anything else is a failure.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// Runs constant SQL (pragmas, schema, transaction control). Never for
// values: those go through Statement::bind.
Status exec_sql(sqlite3* db, const char* sql);

// A prepared statement borrowed from the cache (or owned when the cached one
// is in use by an outer loop). Reset and unbound when it goes out of scope.
class Statement {
public:
    Statement(sqlite3_stmt* stmt, bool* in_use, bool owned) noexcept;
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    ~Statement();

    // Parameters are 1-based, as in SQLite. A bind error is kept and
    // reported by the next step().
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, TimePoint t)
    {
        return bind(index, std::int64_t{t.time_since_epoch().count()});
    }
    Statement& bind(int index, std::nullopt_t);
    Statement& bind_blob(int index, std::string_view data);
    template <class T>
    Statement& bind(int index, const std::optional<T>& value)
    {
        return value ? bind(index, *value) : bind(index, std::nullopt);
    }
    // bind_all(a, b, c) binds parameters 1, 2, 3.
    template <class... A>
    Statement& bind_all(const A&... values)
    {
        int index = 0;
        (bind(++index, values), ...);
        return *this;
    }

    int parameter_count() const;

    // true: a row is available; false: the statement is done.
    Result<bool> step();
    // Steps to the end, for statements that return no rows.
    Status run();

    std::int64_t integer(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;
    std::optional<std::int64_t> optional_integer(int column) const;
    std::optional<std::string> optional_text(int column) const;
    TimePoint time(int column) const { return TimePoint{std::chrono::seconds{integer(column)}}; }
    std::optional<TimePoint> optional_time(int column) const;

private:
    void note(int rc);

    sqlite3_stmt* stmt_;
    bool* in_use_;
    bool owned_;
    int bind_error_ = 0;
};

// Steps s to the end, calling on_row(s) for each row.
template <class F>
Status each_row(Statement& s, F on_row)
{
    for (;;) {
        auto row = s.step();
        if (!row) return row.error();
        if (!*row) return {};
        on_row(s);
    }
}

// Prepared statements keyed by their SQL text, prepared once per connection.
class StatementCache {
public:
    explicit StatementCache(sqlite3* db) : db_(db) {}
    ~StatementCache();
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    Result<Statement> prepare(std::string_view sql);

private:
    struct Entry {
        sqlite3_stmt* stmt = nullptr;
        bool in_use = false;
    };
    sqlite3* db_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mailqd
