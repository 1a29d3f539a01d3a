// The store's admin verbs: hold, release, retry, remove, purge, list,
// counts and the message-state rule.
#include <gtest/gtest.h>

#include "spool/store.hpp"
#include "spool/store_schema.hpp"
#include "tests/unit/spool/store_test_support.hpp"

namespace mailqd {
namespace {

using std::chrono::seconds;
using test::make_message;
using test::StoreTest;

TEST_F(StoreTest, HoldStopsDeliveryAndReleaseMakesItDueNow)
{
    const std::string id = accept(make_message({"b@example.org", "c@example.net"}), t0_);
    attempt(recipient_id(id, 0), RecipientState::deferred, t0_, t0_ + seconds(600), "451 later");
    ASSERT_TRUE(store_->hold(id).ok());
    MessageInfo info = show(id);
    EXPECT_EQ(info.state(), RecipientState::held);
    EXPECT_EQ(info.recipients[0].state, RecipientState::held);
    EXPECT_EQ(info.recipients[1].state, RecipientState::held);
    EXPECT_TRUE(due_ids(t0_ + seconds(100000)).empty());  // a held recipient is never due
    EXPECT_FALSE(store_->next_due_time());

    const auto later = t0_ + seconds(30);
    ASSERT_TRUE(store_->release(id, later).ok());
    info = show(id);
    EXPECT_EQ(info.state(), RecipientState::queued);
    EXPECT_EQ(info.recipients[0].state, RecipientState::queued);
    EXPECT_EQ(info.recipients[0].attempts, 1);  // history is kept
    EXPECT_TRUE(due_ids(later - seconds(1)).empty());
    EXPECT_EQ(due_ids(later).size(), 2u);
}

TEST_F(StoreTest, HoldLeavesDoneRecipientsAlone)
{
    const std::string id = accept(make_message({"b@example.org", "c@example.net"}), t0_);
    attempt(recipient_id(id, 0), RecipientState::sent, t0_);
    ASSERT_TRUE(store_->hold(id).ok());
    EXPECT_EQ(show(id).recipients[0].state, RecipientState::sent);
    EXPECT_EQ(show(id).recipients[1].state, RecipientState::held);
}

TEST_F(StoreTest, AnAttemptInFlightWhenHeldKeepsItHeldUnlessSettled)
{
    const std::string id = accept(make_message({"b@example.org", "c@example.net"}), t0_);
    ASSERT_TRUE(store_->hold(id).ok());
    attempt(recipient_id(id, 0), RecipientState::deferred, t0_, t0_ + seconds(60), "451 later");
    attempt(recipient_id(id, 1), RecipientState::sent, t0_);
    const MessageInfo info = show(id);
    EXPECT_EQ(info.recipients[0].state, RecipientState::held);
    EXPECT_EQ(info.recipients[0].attempts, 1);
    EXPECT_EQ(info.recipients[1].state, RecipientState::sent);
    EXPECT_TRUE(due_ids(t0_ + seconds(120)).empty());
}

TEST_F(StoreTest, RetryMakesDeferredRecipientsDueNowAndKeepsThemDeferred)
{
    const std::string id = accept(make_message({"b@example.org", "c@example.net"}), t0_);
    attempt(recipient_id(id, 0), RecipientState::deferred, t0_, t0_ + seconds(3600), "451 later");
    attempt(recipient_id(id, 1), RecipientState::sent, t0_);
    const auto now = t0_ + seconds(10);
    EXPECT_TRUE(due_ids(now).empty());
    ASSERT_TRUE(store_->retry(id, now).ok());
    const MessageInfo info = show(id);
    EXPECT_EQ(info.recipients[0].state, RecipientState::deferred);
    EXPECT_EQ(info.recipients[0].next_attempt_at, now);
    EXPECT_EQ(info.recipients[1].state, RecipientState::sent);
    EXPECT_EQ(due_ids(now), (std::vector<std::string>{id + ":b@example.org"}));
}

TEST_F(StoreTest, VerbsWithoutNowUseTheClock)
{
    const std::string id = accept(t0_);
    ASSERT_TRUE(store_->hold(id).ok());
    ASSERT_TRUE(store_->release(id).ok());
    EXPECT_EQ(due_ids(now_seconds() + seconds(1)).size(), 1u);
    ASSERT_TRUE(store_->retry(id).ok());
}

TEST_F(StoreTest, AdminVerbsOnAnUnknownIdAreNotFound)
{
    for (auto verb : {&Store::hold, static_cast<Status (Store::*)(const std::string&)>(&Store::release),
                      static_cast<Status (Store::*)(const std::string&)>(&Store::retry), &Store::remove}) {
        auto st = (store_.get()->*verb)("7F3A2C000000");
        ASSERT_FALSE(st.ok());
        EXPECT_EQ(st.error().kind, ErrorKind::not_found);
        EXPECT_EQ(st.error().message, "unknown queue ID 7F3A2C000000");
    }
}

TEST_F(StoreTest, RemoveDeletesMessageRecipientsAndAttempts)
{
    const std::string id = accept(t0_), other = accept(t0_);
    attempt(recipient_id(id), RecipientState::deferred, t0_, t0_, "451");
    ASSERT_TRUE(store_->remove(id).ok());
    EXPECT_EQ(store_->show(id).error().kind, ErrorKind::not_found);
    EXPECT_EQ(due_ids(t0_), (std::vector<std::string>{other + ":b@example.org"}));
    EXPECT_EQ(store_->remove(id).error().kind, ErrorKind::not_found);
    EXPECT_EQ(store_->relay_totals()->at(0).deferred, 1u);  // totals are counters
}

TEST_F(StoreTest, PurgeRemovesOnlyMessagesDoneBeforeTheCutoff)
{
    const std::string early = accept(t0_), late = accept(t0_), waiting = accept(t0_);
    attempt(recipient_id(early), RecipientState::sent, t0_ + seconds(10));
    attempt(recipient_id(late), RecipientState::failed, t0_ + seconds(20), std::nullopt, "550 no");
    attempt(recipient_id(waiting), RecipientState::deferred, t0_, t0_ + seconds(1), "451");

    EXPECT_EQ(*store_->purge_done(t0_ + seconds(10)), 0u);  // done_at < cutoff, strictly
    EXPECT_EQ(*store_->purge_done(t0_ + seconds(11)), 1u);
    EXPECT_EQ(store_->show(early).error().kind, ErrorKind::not_found);
    EXPECT_TRUE(store_->show(late).ok());
    EXPECT_EQ(*store_->purge_done(t0_ + seconds(100000)), 1u);
    EXPECT_TRUE(store_->show(waiting).ok());

    auto totals = store_->relay_totals();
    EXPECT_EQ(totals->at(0).sent, 1u);
    EXPECT_EQ(totals->at(0).failed, 1u);
    EXPECT_EQ(totals->at(0).deferred, 1u);
}

// held, deferred, queued, failed, sent: the first that any recipient is in.
TEST_F(StoreTest, ListAndCountsFollowTheMessageStateRule)
{
    const std::string sent = accept(t0_);
    attempt(recipient_id(sent), RecipientState::sent, t0_ + seconds(1));
    const std::string failed_and_sent =
        accept(make_message({"b@example.org", "c@example.net"}), t0_ + seconds(1));
    attempt(recipient_id(failed_and_sent, 0), RecipientState::sent, t0_ + seconds(2));
    attempt(recipient_id(failed_and_sent, 1), RecipientState::failed, t0_ + seconds(2), std::nullopt, "550");
    const std::string queued_and_sent =
        accept(make_message({"b@example.org", "c@example.net"}), t0_ + seconds(2));
    attempt(recipient_id(queued_and_sent, 0), RecipientState::sent, t0_ + seconds(3));
    const std::string deferred_and_queued =
        accept(make_message({"b@example.org", "c@example.net"}), t0_ + seconds(3));
    attempt(recipient_id(deferred_and_queued, 0), RecipientState::deferred, t0_ + seconds(3),
            t0_ + seconds(60), "451");
    const std::string held = accept(t0_ + seconds(4));
    ASSERT_TRUE(store_->hold(held).ok());

    auto all = store_->list(std::nullopt);
    ASSERT_TRUE(all.ok());
    std::vector<std::string> ids;
    for (const auto& m : *all) ids.push_back(m.id);
    EXPECT_EQ(ids,
              (std::vector<std::string>{sent, failed_and_sent, queued_and_sent, deferred_and_queued, held}));
    EXPECT_TRUE(all->at(0).attempts.empty());  // list carries no history

    const std::pair<RecipientState, std::string> expected[] = {
        {RecipientState::sent, sent},
        {RecipientState::failed, failed_and_sent},
        {RecipientState::queued, queued_and_sent},
        {RecipientState::deferred, deferred_and_queued},
        {RecipientState::held, held},
    };
    for (const auto& [state, id] : expected) {
        auto only = store_->list(state);
        ASSERT_TRUE(only.ok());
        ASSERT_EQ(only->size(), 1u) << to_string(state);
        EXPECT_EQ(only->at(0).id, id);
        EXPECT_EQ(only->at(0).state(), state);
    }

    auto counts = store_->counts(t0_ + seconds(100));
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->queued, 1u);
    EXPECT_EQ(counts->deferred, 1u);
    EXPECT_EQ(counts->held, 1u);
    EXPECT_EQ(counts->sent, 1u);
    EXPECT_EQ(counts->failed, 1u);
    EXPECT_EQ(counts->oldest_age_s, 98);  // queued_and_sent, received at t0 + 2

    EXPECT_EQ(*store_->not_done_ids(),
              (std::vector<std::string>{queued_and_sent, deferred_and_queued, held}));
}

TEST_F(StoreTest, CountsOfAnEmptyQueue)
{
    auto counts = store_->counts(t0_);
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->queued + counts->deferred + counts->held + counts->sent + counts->failed, 0u);
    EXPECT_FALSE(counts->oldest_age_s);
    EXPECT_TRUE(store_->list(std::nullopt)->empty());
}

// The counts kept by the schema's triggers, against the message-state rule
// applied to what list() reads: equal after every kind of write, after a
// re-open, and for a database migrated from version 2 with mail in it.
std::string real_counts(Store& store)
{
    QueueCounts real;
    auto all = store.list(std::nullopt);
    EXPECT_TRUE(all.ok());
    for (const auto& m : *all) {
        switch (m.state()) {
            case RecipientState::queued: ++real.queued; break;
            case RecipientState::deferred: ++real.deferred; break;
            case RecipientState::held: ++real.held; break;
            case RecipientState::sent: ++real.sent; break;
            case RecipientState::failed: ++real.failed; break;
        }
    }
    return std::to_string(real.queued) + " " + std::to_string(real.deferred) + " " +
           std::to_string(real.held) + " " + std::to_string(real.sent) + " " + std::to_string(real.failed);
}

std::string kept_counts(Store& store)
{
    auto c = store.counts(test::at(0));
    EXPECT_TRUE(c.ok());
    return std::to_string(c->queued) + " " + std::to_string(c->deferred) + " " + std::to_string(c->held) +
           " " + std::to_string(c->sent) + " " + std::to_string(c->failed);
}

TEST_F(StoreTest, KeptCountsAgreeWithTheQueueAfterEveryKindOfWrite)
{
    const std::vector<std::string> three{"b@example.org", "c@example.net", "d@example.com"};
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) ids.push_back(accept(make_message(three), t0_ + seconds(i)));
    EXPECT_EQ(kept_counts(*store_), "6 0 0 0 0");
    auto check = [&](const char* after) { EXPECT_EQ(kept_counts(*store_), real_counts(*store_)) << after; };

    attempt(recipient_id(ids[0], 0), RecipientState::sent, t0_ + seconds(10));
    attempt(recipient_id(ids[0], 1), RecipientState::sent, t0_ + seconds(10));
    attempt(recipient_id(ids[0], 2), RecipientState::sent, t0_ + seconds(10));
    check("a message sent");
    attempt(recipient_id(ids[1], 0), RecipientState::deferred, t0_ + seconds(10), t0_ + seconds(60), "451");
    check("a deferral");
    ASSERT_TRUE(store_->retry(ids[1], t0_ + seconds(20)).ok());
    check("a retry");
    attempt(recipient_id(ids[2], 0), RecipientState::failed, t0_ + seconds(10), std::nullopt, "550");
    attempt(recipient_id(ids[2], 1), RecipientState::sent, t0_ + seconds(10));
    attempt(recipient_id(ids[2], 2), RecipientState::failed, t0_ + seconds(10), std::nullopt, "550");
    check("failed and sent");
    ASSERT_TRUE(store_->hold(ids[3]).ok());
    ASSERT_TRUE(store_->hold(ids[1]).ok());
    check("holds");
    ASSERT_TRUE(store_->release(ids[1], t0_ + seconds(20)).ok());
    check("a release");
    ASSERT_TRUE(store_->remove(ids[4]).ok());
    ASSERT_TRUE(store_->remove(ids[3]).ok());
    check("removes");
    EXPECT_EQ(*store_->purge_done(t0_ + seconds(11)), 2u);
    check("a purge");
    EXPECT_EQ(kept_counts(*store_), "2 0 0 0 0");

    store_.reset();
    store_ = test::open_store(dir_.db());
    ASSERT_TRUE(store_);
    check("a re-open");
    attempt(recipient_id(ids[5], 0), RecipientState::deferred, t0_ + seconds(30), t0_ + seconds(90), "451");
    check("a deferral after the re-open");
    EXPECT_EQ(kept_counts(*store_), "1 1 0 0 0");
}

TEST(StoreOpen, MigrationToVersionFourCountsTheMailAlreadyQueued)
{
    test::TempDir dir;
    {
        test::RawDb raw(dir.db());
        ASSERT_TRUE(migrate(raw.db, 2).ok());
        raw.exec(
            "INSERT INTO messages (id, received_at, size, sender, submitter, door, data) VALUES "
            "('A', 1, 1, 'a@x', 'u', 'socket', 'x'), ('B', 2, 1, 'a@x', 'u', 'socket', 'x'), "
            "('C', 3, 1, 'a@x', 'u', 'socket', 'x')");
        raw.exec(
            "INSERT INTO recipients (message_id, position, address, state) VALUES "
            "('A', 0, 'b@y', 'sent'), ('A', 1, 'c@y', 'deferred'), ('B', 0, 'b@y', 'held'), "
            "('C', 0, 'b@y', 'failed'), ('C', 1, 'c@y', 'sent')");
    }
    auto store = test::open_store(dir.db());
    ASSERT_TRUE(store);
    EXPECT_EQ(kept_counts(*store), "0 1 1 0 1");
    EXPECT_EQ(kept_counts(*store), real_counts(*store));
}

}  // namespace
}  // namespace mailqd
