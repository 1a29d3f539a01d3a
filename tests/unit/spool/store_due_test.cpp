// Store::next_due_time(after): the scheduler's next wake-up once everything
// due by `after` is in flight; due() read on from a cursor; sendable().
#include <gtest/gtest.h>

#include "spool/store.hpp"
#include "store_test_support.hpp"

namespace mailqd {
namespace {

using test::at;
using test::make_message;
using test::TempDir;

TEST(StoreDue, NextDueTimeAfterSkipsWhatIsDueAlready)
{
    TempDir dir;
    auto store = Store::open(dir.db());
    ASSERT_TRUE(store);
    Store& s = **store;
    EXPECT_FALSE(s.next_due_time(at(0)));

    auto first = s.accept(make_message({"a@example.org", "b@example.org"}), at(1000));
    ASSERT_TRUE(first);
    auto info = s.show(*first);
    ASSERT_TRUE(info);
    // b deferred to 1500; a stays due at 1000.
    AttemptOutcome later{info->recipients[1].id, "default", RecipientState::deferred, "451 later", at(1500)};
    ASSERT_TRUE(s.record_attempt(later, at(1000)));

    EXPECT_EQ(s.next_due_time(), at(1000));
    EXPECT_EQ(s.next_due_time(at(999)), at(1000));
    EXPECT_EQ(s.next_due_time(at(1000)), at(1500));
    EXPECT_FALSE(s.next_due_time(at(1500)));

    // Held and done recipients never count.
    ASSERT_TRUE(s.hold(*first));
    EXPECT_FALSE(s.next_due_time(at(0)));
}

std::vector<std::int64_t> ids_of(const std::vector<DueRecipient>& due)
{
    std::vector<std::int64_t> ids;
    for (const auto& r : due) ids.push_back(r.recipient_id);
    return ids;
}

// Pages through the due list by (next attempt, recipient ID) without seeing
// a recipient twice or passing one by, across seconds and within one.
TEST(StoreDue, CursorReadsOnWhereTheLastReadingStopped)
{
    TempDir dir;
    auto store = Store::open(dir.db());
    ASSERT_TRUE(store);
    Store& s = **store;
    std::vector<std::int64_t> all;
    for (int second : {1000, 1000, 1000, 1001, 1001, 1003}) {
        auto id = s.accept(make_message({"a@example.org"}), at(second));
        ASSERT_TRUE(id);
        all.push_back(s.show(*id)->recipients[0].id);
    }
    auto whole = s.due(at(1003), 100);
    ASSERT_TRUE(whole);
    EXPECT_EQ(ids_of(*whole), all);
    EXPECT_EQ(whole->at(4).next_attempt_at, at(1001));

    std::vector<std::int64_t> paged;
    std::optional<DueCursor> cursor;
    for (int page = 0; page < 10; ++page) {
        auto due = s.due(at(1003), 2, cursor);
        ASSERT_TRUE(due);
        if (due->empty()) break;
        EXPECT_LE(due->size(), 2u);
        for (const auto& r : *due) paged.push_back(r.recipient_id);
        cursor = DueCursor{due->back().next_attempt_at, due->back().recipient_id};
    }
    EXPECT_EQ(paged, all);

    // Only what is due by now, also after a cursor.
    auto early = s.due(at(1001), 100, DueCursor{at(1000), all[1]});
    ASSERT_TRUE(early);
    EXPECT_EQ(ids_of(*early), (std::vector<std::int64_t>{all[2], all[3], all[4]}));
}

TEST(StoreDue, SendableGivesTheTextAndEachRecipientsStateNow)
{
    TempDir dir;
    auto store = Store::open(dir.db());
    ASSERT_TRUE(store);
    Store& s = **store;
    NewMessage message = make_message({"a@example.org", "b@example.org"});
    auto id = s.accept(message, at(1000));
    ASSERT_TRUE(id);
    auto info = s.show(*id);
    ASSERT_TRUE(info);
    ASSERT_TRUE(s.record_attempt(
        {info->recipients[0].id, "default", RecipientState::sent, "250 ok", std::nullopt}, at(1001)));

    auto sendable = s.sendable(*id);
    ASSERT_TRUE(sendable);
    EXPECT_EQ(sendable->data, message.data);
    using State = std::pair<std::int64_t, RecipientState>;
    EXPECT_EQ(sendable->recipients, (std::vector<State>{{info->recipients[0].id, RecipientState::sent},
                                                        {info->recipients[1].id, RecipientState::queued}}));

    ASSERT_TRUE(s.remove(*id));
    auto gone = s.sendable(*id);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace mailqd
