// Store::next_due_time(after): the scheduler's next wake-up once everything
// due by `after` is in flight.
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

}  // namespace
}  // namespace mailqd
