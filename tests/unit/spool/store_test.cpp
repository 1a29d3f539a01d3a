// The store: opening and migrating, intake, scheduling, attempts, a full disk.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <fstream>
#include <regex>

#include "spool/store.hpp"
#include "spool/store_schema.hpp"
#include "tests/unit/spool/store_test_support.hpp"

namespace mailqd {
namespace {

using test::at;
using test::make_message;
using test::RawDb;
using test::StoreTest;
using test::TempDir;

TEST(StoreOpen, CreatesTheLatestSchemaInWalMode)
{
    TempDir dir;
    auto store = test::open_store(dir.path() / "sub" / "queue.db");  // parent created
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), latest_schema_version());
    EXPECT_GE(latest_schema_version(), 2);
    RawDb raw(dir.path() / "sub" / "queue.db");
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw.text("PRAGMA user_version"), std::to_string(latest_schema_version()));
}

TEST(StoreOpen, ReopenKeepsDataAndVersion)
{
    TempDir dir;
    std::string id;
    {
        auto store = test::open_store(dir.db());
        auto accepted = store->accept(make_message(), test::at(1000));
        ASSERT_TRUE(accepted.ok());
        id = *accepted;
    }
    auto store = test::open_store(dir.db());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), latest_schema_version());
    EXPECT_TRUE(store->show(id).ok());
}

TEST(StoreOpen, MigratesAVersionOneDatabase)
{
    TempDir dir;
    {
        RawDb raw(dir.db());
        ASSERT_TRUE(migrate(raw.db, 1).ok());
        EXPECT_EQ(raw.text("PRAGMA user_version"), "1");
        raw.exec("INSERT INTO relay_totals (relay, sent, failed, deferred) VALUES ('old', 7, 1, 2)");
    }
    auto store = test::open_store(dir.db());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), latest_schema_version());
    auto totals = store->relay_totals();
    ASSERT_TRUE(totals.ok());
    ASSERT_EQ(totals->size(), 1u);
    EXPECT_EQ((*totals)[0].name, "old");
    EXPECT_EQ((*totals)[0].sent, 7u);
    EXPECT_FALSE((*totals)[0].last_success_at);
    EXPECT_FALSE((*totals)[0].last_error);
}

// Version 3 added the DSN columns: a queue written by a version 2 mailqd
// keeps its messages, states and history, and reads as "no DSN parameters
// given" (its bounces stay as they were).
TEST(StoreOpen, MigratesAVersionTwoQueueToTheDsnColumns)
{
    TempDir dir;
    {
        RawDb raw(dir.db());
        ASSERT_TRUE(migrate(raw.db, 2).ok());
        raw.exec(
            "INSERT INTO messages (id, received_at, size, sender, submitter, door, data) "
            "VALUES ('OLD000000001', 1000, 4, 'a@example.com', 'www-data', 'socket', 'hi\r\n')");
        raw.exec(
            "INSERT INTO recipients (message_id, position, address, state, attempts, next_attempt_at, "
            "last_reply) "
            "VALUES ('OLD000000001', 0, 'b@example.org', 'deferred', 2, 1100, '451 4.3.0 later')");
        raw.exec(
            "INSERT INTO attempts (message_id, recipient_id, at, relay, recipient, reply, state) "
            "VALUES ('OLD000000001', 1, 1050, 'default', 'b@example.org', '451 4.3.0 later', 'deferred')");
    }
    auto store = test::open_store(dir.db());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), latest_schema_version());
    auto shown = store->show("OLD000000001");
    ASSERT_TRUE(shown.ok());
    ASSERT_EQ(shown->recipients.size(), 1u);
    EXPECT_EQ(shown->recipients[0].state, RecipientState::deferred);
    EXPECT_EQ(shown->recipients[0].attempts, 2);
    EXPECT_EQ(shown->attempts.size(), 1u);
    auto due = store->due(at(2000), 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ(due->at(0).message_dsn, MessageDsn{});
    EXPECT_EQ(due->at(0).dsn, RecipientDsn{});
    EXPECT_EQ(due->at(0).address, "b@example.org");
}

// What the door was given comes back with each due recipient, for the
// relay and the DSN builder.
TEST(StoreAccept, KeepsTheDsnParametersOfTheMessageAndEachRecipient)
{
    TempDir dir;
    auto store = test::open_store(dir.db());
    NewMessage m = make_message({"b@example.org", "c@example.org", "d@example.org"});
    m.dsn = {DsnRet::hdrs, "env 42"};
    m.recipient_dsn = {
        {*parse_dsn_notify("never"), ""}, {*parse_dsn_notify("success,delay"), "rfc822;C@example.org"}, {}};
    ASSERT_TRUE(store->accept(m, at(1000)).ok());
    ASSERT_TRUE(store->accept(make_message({"e@example.org"}), at(1000)).ok());
    auto due = store->due(at(1000), 10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 4u);
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(due->at(i).message_dsn, m.dsn);
        EXPECT_EQ(due->at(i).dsn, m.recipient_dsn[i]);
    }
    EXPECT_EQ(due->at(3).message_dsn, MessageDsn{});
    EXPECT_EQ(due->at(3).dsn, RecipientDsn{});

    m.recipient_dsn.pop_back();  // not one per recipient: the caller's mistake
    auto refused = store->accept(m, at(1000));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::usage);
}

TEST(StoreOpen, RefusesADatabaseFromTheFuture)
{
    TempDir dir;
    {
        RawDb(dir.db()).exec("PRAGMA user_version = 99");
    }
    auto store = Store::open(dir.db());
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.error().kind, ErrorKind::config);
    EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos) << store.error().message;
}

TEST(StoreOpen, RefusesAFileThatIsNotADatabase)
{
    TempDir dir;
    {
        std::ofstream(dir.db()) << "this is not sqlite, just text long enough to be a header......\n";
    }
    auto store = Store::open(dir.db());
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.error().message.find(dir.db().string()), std::string::npos) << store.error().message;
}

TEST_F(StoreTest, AcceptQueuesEveryRecipientDueNow)
{
    auto m = make_message({"b@example.org", "c@example.net"});
    const std::string id = accept(m, t0_);
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9A-F]{12}"))) << id;

    const MessageInfo info = show(id);
    EXPECT_EQ(info.state(), RecipientState::queued);
    EXPECT_EQ(info.received_at, t0_);
    EXPECT_EQ(info.size, m.data.size());
    EXPECT_EQ(info.sender, "a@example.com");
    EXPECT_EQ(info.submitter, "www-data");
    ASSERT_EQ(info.recipients.size(), 2u);
    for (const auto& r : info.recipients) {
        EXPECT_EQ(r.state, RecipientState::queued);
        EXPECT_EQ(r.attempts, 0);
        EXPECT_FALSE(r.next_attempt_at);  // shown only when deferred
    }
    EXPECT_EQ(due_ids(t0_), (std::vector<std::string>{id + ":b@example.org", id + ":c@example.net"}));
    auto data = store_->message_data(id);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, m.data);
}

TEST_F(StoreTest, QueueIdsFollowTheOrderOfAcceptance)
{
    // Time-ordered IDs keep inserts at the right edge of the indexes.
    std::string previous;
    for (int i = 0; i < 300; ++i) {
        const std::string id = accept(make_message(), t0_);
        EXPECT_TRUE(std::regex_match(id, std::regex("[0-9A-F]{12}"))) << id;
        EXPECT_GT(id, previous);
        previous = id;
    }
}

TEST_F(StoreTest, AcceptRefusesAMessageWithoutRecipients)
{
    auto id = store_->accept(make_message({}), t0_);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().kind, ErrorKind::bad_message);
}

TEST_F(StoreTest, NullSenderAndBinaryDataSurvive)
{
    auto m = make_message({"b@example.org"}, "");
    m.data = std::string("a\0b\r\n\xff\r\n", 8);
    const std::string id = accept(m, t0_);
    EXPECT_EQ(show(id).sender, "");
    EXPECT_EQ(*store_->message_data(id), m.data);
}

TEST_F(StoreTest, SpoolKeyMakesAcceptIdempotent)
{
    const std::string first = accept(make_message({"b@example.org"}, "a@example.com", "dev:ino:1"), t0_);
    const std::string again =
        accept(make_message({"b@example.org"}, "a@example.com", "dev:ino:1"), t0_ + std::chrono::seconds(5));
    EXPECT_EQ(first, again);
    EXPECT_EQ(store_->list(std::nullopt)->size(), 1u);
    EXPECT_EQ(store_->find_by_spool_key("dev:ino:1"), first);
    EXPECT_FALSE(store_->find_by_spool_key("dev:ino:2"));
    // No key: every accept is a new message.
    EXPECT_NE(accept(t0_), accept(t0_));
}

TEST_F(StoreTest, UnknownIdsAreNotFound)
{
    auto data = store_->message_data("000000000000");
    ASSERT_FALSE(data.ok());
    EXPECT_EQ(data.error().kind, ErrorKind::not_found);
    EXPECT_EQ(data.error().message, "unknown queue ID 000000000000");
    auto shown = store_->show("NOPE");
    ASSERT_FALSE(shown.ok());
    EXPECT_EQ(shown.error().kind, ErrorKind::not_found);
}

TEST_F(StoreTest, DueIsOldestFirstAndLimited)
{
    const std::string a = accept(t0_), b = accept(t0_ + std::chrono::seconds(1)),
                      c = accept(t0_ + std::chrono::seconds(2));
    const std::string to = ":b@example.org";
    EXPECT_TRUE(due_ids(t0_ - std::chrono::seconds(1)).empty());
    EXPECT_EQ(due_ids(t0_ + std::chrono::seconds(1)), (std::vector<std::string>{a + to, b + to}));
    EXPECT_EQ(due_ids(t0_ + std::chrono::seconds(9), 2), (std::vector<std::string>{a + to, b + to}));
    EXPECT_EQ(due_ids(t0_ + std::chrono::seconds(9)), (std::vector<std::string>{a + to, b + to, c + to}));
    EXPECT_EQ(store_->next_due_time(), t0_);

    auto due = store_->due(t0_, 10);
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ((*due)[0].sender, "a@example.com");
    EXPECT_EQ((*due)[0].received_at, t0_);
    EXPECT_EQ((*due)[0].attempts, 0);
}

TEST_F(StoreTest, NothingDueInAnEmptyQueue)
{
    EXPECT_TRUE(due_ids(t0_).empty());
    EXPECT_FALSE(store_->next_due_time());
}

TEST_F(StoreTest, DeferredAttemptSchedulesTheNextOne)
{
    const std::string id = accept(t0_);
    const auto next = t0_ + std::chrono::seconds(60);
    attempt(recipient_id(id), RecipientState::deferred, t0_, next, "451 4.3.0 try later", "smarthost");

    const MessageInfo info = show(id);
    EXPECT_EQ(info.state(), RecipientState::deferred);
    const auto& r = info.recipients.at(0);
    EXPECT_EQ(r.state, RecipientState::deferred);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.next_attempt_at, next);
    EXPECT_EQ(r.last_reply, "451 4.3.0 try later");
    ASSERT_EQ(info.attempts.size(), 1u);
    EXPECT_EQ(info.attempts[0].at, t0_);
    EXPECT_EQ(info.attempts[0].relay, "smarthost");
    EXPECT_EQ(info.attempts[0].recipient, "b@example.org");
    EXPECT_EQ(info.attempts[0].reply, "451 4.3.0 try later");

    EXPECT_TRUE(due_ids(next - std::chrono::seconds(1)).empty());
    EXPECT_EQ(due_ids(next).size(), 1u);
    EXPECT_EQ(store_->due(next, 1)->at(0).attempts, 1);
    EXPECT_EQ(store_->next_due_time(), next);

    auto totals = store_->relay_totals();
    ASSERT_EQ(totals->size(), 1u);
    EXPECT_EQ((*totals)[0].deferred, 1u);
    EXPECT_EQ((*totals)[0].last_error, "451 4.3.0 try later");
    EXPECT_FALSE((*totals)[0].last_success_at);
}

TEST_F(StoreTest, MessageIsDoneWhenEveryRecipientIsSentOrFailed)
{
    const std::string id = accept(make_message({"b@example.org", "c@example.net"}), t0_);
    attempt(recipient_id(id, 0), RecipientState::sent, t0_ + std::chrono::seconds(1));
    EXPECT_EQ(show(id).state(), RecipientState::queued);
    EXPECT_EQ(store_->not_done_ids()->size(), 1u);
    EXPECT_EQ(due_ids(t0_ + std::chrono::seconds(2)), (std::vector<std::string>{id + ":c@example.net"}));

    attempt(recipient_id(id, 1), RecipientState::failed, t0_ + std::chrono::seconds(2), std::nullopt,
            "550 5.1.1 no such user");
    const MessageInfo info = show(id);
    EXPECT_EQ(info.state(), RecipientState::failed);
    EXPECT_FALSE(info.recipients[1].next_attempt_at);
    EXPECT_TRUE(store_->not_done_ids()->empty());
    EXPECT_TRUE(due_ids(t0_ + std::chrono::seconds(100)).empty());

    auto totals = store_->relay_totals();
    ASSERT_EQ(totals->size(), 1u);
    EXPECT_EQ((*totals)[0].sent, 1u);
    EXPECT_EQ((*totals)[0].failed, 1u);
    EXPECT_EQ((*totals)[0].last_success_at, t0_ + std::chrono::seconds(1));
    EXPECT_EQ((*totals)[0].last_error, "550 5.1.1 no such user");
}

TEST_F(StoreTest, RecordAttemptRefusesWhatCannotHappen)
{
    auto unknown = store_->record_attempt(AttemptOutcome{424242, "r", RecipientState::sent, "250", {}}, t0_);
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().kind, ErrorKind::not_found);

    const std::string id = accept(t0_);
    auto held =
        store_->record_attempt(AttemptOutcome{recipient_id(id), "r", RecipientState::held, "", {}}, t0_);
    ASSERT_FALSE(held.ok());
    EXPECT_EQ(held.error().kind, ErrorKind::usage);

    attempt(recipient_id(id), RecipientState::sent, t0_);
    auto twice = store_->record_attempt(
        AttemptOutcome{recipient_id(id), "r", RecipientState::deferred, "451", {}}, t0_);
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(show(id).recipients[0].state, RecipientState::sent);
    EXPECT_EQ(show(id).attempts.size(), 1u);  // the refused attempt left nothing behind
}

TEST_F(StoreTest, DeferredWithoutATimeIsDueNow)
{
    const std::string id = accept(t0_);
    attempt(recipient_id(id), RecipientState::deferred, t0_ + std::chrono::seconds(10), std::nullopt,
            "421 bye");
    EXPECT_EQ(show(id).recipients[0].next_attempt_at, t0_ + std::chrono::seconds(10));
}

TEST_F(StoreTest, FullDiskIsATemporaryError)
{
    accept(t0_);  // the schema and one message fit
    ASSERT_TRUE(store_->limit_size_for_tests(1).ok());
    auto big = make_message();
    big.data.assign(256 * 1024, 'x');
    auto refused = store_->accept(big, t0_);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::temporary) << refused.error().message;
    EXPECT_FALSE(store_->in_transaction());
    EXPECT_EQ(store_->list(std::nullopt)->size(), 1u);

    ASSERT_TRUE(store_->limit_size_for_tests(0).ok());
    EXPECT_TRUE(store_->accept(big, t0_).ok());
}

}  // namespace
}  // namespace mailqd
