// UserRate: submit.user_rate's sliding minute, per user.
#include "daemon/submit/user_rate.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

using namespace std::chrono_literals;
const UserRate::Clock::time_point t0{};

TEST(UserRate, UnlimitedByDefault)
{
    UserRate rate;
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(rate.take(1000, t0));
    EXPECT_TRUE(rate.allows(1000, t0));
}

TEST(UserRate, TheLimitInAnyMinuteAndOnlyForThatUser)
{
    UserRate rate(3);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(rate.allows(1000, t0 + i * 10s));
        EXPECT_TRUE(rate.take(1000, t0 + i * 10s));
    }
    EXPECT_FALSE(rate.allows(1000, t0 + 30s));
    EXPECT_FALSE(rate.take(1000, t0 + 30s));
    EXPECT_TRUE(rate.allows(1001, t0 + 30s));  // another user
    // A sliding minute: the first message (t0) leaves the window at t0+60s,
    // not at a minute boundary, and only it.
    EXPECT_FALSE(rate.allows(1000, t0 + 59s));
    EXPECT_TRUE(rate.allows(1000, t0 + 60s));
    EXPECT_TRUE(rate.take(1000, t0 + 60s));
    EXPECT_FALSE(rate.allows(1000, t0 + 69s));
    EXPECT_TRUE(rate.allows(1000, t0 + 70s));
}

TEST(UserRate, AReloadChangesTheLimit)
{
    UserRate rate(5);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(rate.take(1000, t0));
    EXPECT_TRUE(rate.allows(1000, t0));
    rate.set_limit(2);
    EXPECT_FALSE(rate.allows(1000, t0));
    rate.set_limit(0);
    EXPECT_TRUE(rate.allows(1000, t0));
}

TEST(UserRate, AFailedCommitDoesNotCount)
{
    UserRate rate(1);
    EXPECT_TRUE(rate.take(1000, t0));
    EXPECT_FALSE(rate.allows(1000, t0));
    rate.give_back(1000);
    EXPECT_TRUE(rate.take(1000, t0));
}

}  // namespace
}  // namespace mailqd
