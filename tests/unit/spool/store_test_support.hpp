// Helpers for the store's unit tests: a temporary directory removed at the
// end of the test, a raw connection to the database, and a small message
// to queue.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "spool/queue_types.hpp"
#include "spool/store.hpp"

namespace mailqd::test {

class TempDir {
public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "mailqd-store-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path db() const { return path_ / "queue.db"; }

private:
    std::filesystem::path path_;
};

// A raw connection, to look at or prepare a database from outside the store.
struct RawDb {
    sqlite3* db = nullptr;
    explicit RawDb(const std::filesystem::path& path) { sqlite3_open(path.c_str(), &db); }
    ~RawDb() { sqlite3_close(db); }
    std::string text(const char* query)
    {
        sqlite3_stmt* s = nullptr;
        std::string out;
        if (sqlite3_prepare_v2(db, query, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
    void exec(const char* sql)
    {
        ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    }
};

inline NewMessage make_message(std::vector<std::string> recipients = {"b@example.org"},
                               std::string sender = "a@example.com", std::string spool_key = "")
{
    NewMessage m;
    m.sender = std::move(sender);
    m.recipients = std::move(recipients);
    m.data = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
    m.submitter = "www-data";
    m.door = "socket";
    m.spool_key = std::move(spool_key);
    return m;
}

inline TimePoint at(std::int64_t unix_seconds) { return TimePoint{std::chrono::seconds{unix_seconds}}; }

inline std::unique_ptr<Store> open_store(const std::filesystem::path& db)
{
    auto store = Store::open(db);
    if (!store) {
        ADD_FAILURE() << store.error().message;
        return nullptr;
    }
    return std::move(*store);
}

// A fresh database in a temporary directory, with helpers that fail the
// test on an unexpected error.
class StoreTest : public ::testing::Test {
protected:
    TempDir dir_;
    std::unique_ptr<Store> store_ = open_store(dir_.db());
    const TimePoint t0_ = at(1795420800);  // 2026-11-23T08:00:00Z

    std::string accept(const NewMessage& m, TimePoint now)
    {
        auto id = store_->accept(m, now);
        EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().message);
        return id.ok() ? *id : std::string();
    }
    std::string accept(TimePoint now) { return accept(make_message(), now); }

    MessageInfo show(const std::string& id)
    {
        auto m = store_->show(id);
        EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
        return m.ok() ? *m : MessageInfo{};
    }

    std::int64_t recipient_id(const std::string& id, std::size_t index = 0)
    {
        auto m = show(id);
        return index < m.recipients.size() ? m.recipients[index].id : -1;
    }

    void attempt(std::int64_t recipient, RecipientState state, TimePoint now,
                 std::optional<TimePoint> next = std::nullopt, std::string reply = "250 ok",
                 std::string relay = "default")
    {
        auto st = store_->record_attempt(AttemptOutcome{recipient, relay, state, reply, next}, now);
        EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    }

    std::vector<std::string> due_ids(TimePoint now, std::size_t limit = 100)
    {
        std::vector<std::string> ids;
        auto due = store_->due(now, limit);
        EXPECT_TRUE(due.ok());
        if (due.ok())
            for (const auto& d : *due) ids.push_back(d.message_id + ":" + d.address);
        return ids;
    }
};

}  // namespace mailqd::test
