// The store's POP3 bookkeeping: UIDLs and per-mailbox fetch status.
#include <gtest/gtest.h>

#include "spool/store.hpp"
#include "tests/unit/spool/store_test_support.hpp"

namespace mailqd {
namespace {

using std::chrono::seconds;
using test::StoreTest;

TEST_F(StoreTest, UidlsAreRememberedPerMailbox)
{
    EXPECT_FALSE(store_->uidl_known("qq", "u1"));
    ASSERT_TRUE(store_->record_uidl("qq", "u1", t0_).ok());
    ASSERT_TRUE(store_->record_uidl("qq", "u1", t0_).ok());  // twice is harmless
    ASSERT_TRUE(store_->record_uidl("qq", "u2", t0_).ok());
    EXPECT_TRUE(store_->uidl_known("qq", "u1"));
    EXPECT_FALSE(store_->uidl_known("other", "u1"));
    // Hostile text is data, not SQL.
    ASSERT_TRUE(store_->record_uidl("qq", "x'); DROP TABLE uidls; --", t0_).ok());
    EXPECT_TRUE(store_->uidl_known("qq", "x'); DROP TABLE uidls; --"));
}

TEST_F(StoreTest, ForgetUidlsExceptKeepsOnlyWhatIsStillOnTheServer)
{
    for (const char* u : {"u1", "u2", "u3"}) ASSERT_TRUE(store_->record_uidl("qq", u, t0_).ok());
    ASSERT_TRUE(store_->record_uidl("other", "u1", t0_).ok());
    ASSERT_TRUE(store_->forget_uidls_except("qq", {"u2", "u9"}).ok());
    EXPECT_FALSE(store_->uidl_known("qq", "u1"));
    EXPECT_TRUE(store_->uidl_known("qq", "u2"));
    EXPECT_FALSE(store_->uidl_known("qq", "u3"));
    EXPECT_FALSE(store_->uidl_known("qq", "u9"));
    EXPECT_TRUE(store_->uidl_known("other", "u1"));
}

TEST_F(StoreTest, FetchStatusAccumulatesAndKeepsTheLastError)
{
    ASSERT_TRUE(store_->record_fetch("qq", t0_, 30, std::nullopt).ok());
    ASSERT_TRUE(store_->record_fetch("qq", t0_ + seconds(300), 10, std::string("-ERR auth failed")).ok());
    ASSERT_TRUE(store_->record_fetch("a-box", t0_, 0, std::nullopt).ok());
    auto totals = store_->mailbox_totals();
    ASSERT_TRUE(totals.ok());
    ASSERT_EQ(totals->size(), 2u);
    EXPECT_EQ(totals->at(0).name, "a-box");
    EXPECT_EQ(totals->at(1).name, "qq");
    EXPECT_EQ(totals->at(1).fetched, 40u);
    EXPECT_EQ(totals->at(1).last_fetch_at, t0_ + seconds(300));
    EXPECT_EQ(totals->at(1).last_error, "-ERR auth failed");

    ASSERT_TRUE(store_->record_fetch("qq", t0_ + seconds(600), 1, std::nullopt).ok());
    EXPECT_FALSE(store_->mailbox_totals()->at(1).last_error);  // a success clears it
}

}  // namespace
}  // namespace mailqd
