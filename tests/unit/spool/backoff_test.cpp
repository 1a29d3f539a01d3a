#include <gtest/gtest.h>

#include "spool/backoff.hpp"

namespace mailqd {
namespace {

using std::chrono::seconds;

TEST(Backoff, GrowsByFactorUntilMax)
{
    BackoffPolicy p{seconds(60), seconds(3600), 2.0, 0.1};
    EXPECT_EQ(backoff_delay(p, 1, 0.5), seconds(60));
    EXPECT_EQ(backoff_delay(p, 2, 0.5), seconds(120));
    EXPECT_EQ(backoff_delay(p, 3, 0.5), seconds(240));
    EXPECT_EQ(backoff_delay(p, 7, 0.5), seconds(3600));
    EXPECT_EQ(backoff_delay(p, 500, 0.5), seconds(3600));
}

TEST(Backoff, JitterStaysWithinBounds)
{
    BackoffPolicy p{seconds(100), seconds(3600), 2.0, 0.1};
    EXPECT_EQ(backoff_delay(p, 1, 0.0), seconds(90));
    EXPECT_EQ(backoff_delay(p, 1, 0.999999), seconds(110));
    for (int i = 0; i < 1000; ++i) {
        auto d = backoff_delay(p, 1);
        EXPECT_GE(d, seconds(90));
        EXPECT_LE(d, seconds(110));
    }
}

TEST(Backoff, NeverBelowOneSecond)
{
    BackoffPolicy p{seconds(0), seconds(0), 2.0, 0.5};
    EXPECT_GE(backoff_delay(p, 1, 0.0), seconds(1));
}

}  // namespace
}  // namespace mailqd
