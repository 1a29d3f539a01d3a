// The queue's vocabulary: state words, the message-state rule, time format.
#include <gtest/gtest.h>

#include "spool/queue_types.hpp"

namespace mailqd {
namespace {

using S = RecipientState;

TimePoint at(std::int64_t unix_seconds) { return TimePoint{std::chrono::seconds{unix_seconds}}; }

TEST(QueueTypes, StateWordsRoundTrip)
{
    for (S s : {S::queued, S::deferred, S::held, S::sent, S::failed})
        EXPECT_EQ(recipient_state_from(to_string(s)), s);
    EXPECT_EQ(to_string(S::deferred), "deferred");
    EXPECT_FALSE(recipient_state_from("Queued"));
    EXPECT_FALSE(recipient_state_from(""));
    EXPECT_FALSE(recipient_state_from("done"));
}

TEST(QueueTypes, OnlySentAndFailedAreDone)
{
    EXPECT_TRUE(is_done(S::sent));
    EXPECT_TRUE(is_done(S::failed));
    EXPECT_FALSE(is_done(S::queued));
    EXPECT_FALSE(is_done(S::deferred));
    EXPECT_FALSE(is_done(S::held));
}

TEST(QueueTypes, MessageStateIsTheFirstOfHeldDeferredQueuedFailedSent)
{
    const struct {
        std::vector<S> recipients;
        S expected;
    } cases[] = {
        {{S::sent}, S::sent},
        {{S::sent, S::failed}, S::failed},
        {{S::failed, S::queued}, S::queued},
        {{S::queued, S::deferred, S::sent}, S::deferred},
        {{S::sent, S::deferred, S::held}, S::held},
        {{S::held, S::held}, S::held},
        {{S::failed}, S::failed},
    };
    for (const auto& c : cases) EXPECT_EQ(message_state(c.recipients), c.expected);

    MessageInfo m;
    m.recipients.resize(2);
    m.recipients[0].state = S::sent;
    m.recipients[1].state = S::queued;
    EXPECT_EQ(m.state(), S::queued);
}

TEST(QueueTypes, FormatsTimesAsUtcWithZ)
{
    EXPECT_EQ(format_time(at(1795420800)), "2026-11-23T08:00:00Z");
    EXPECT_EQ(format_time(at(0)), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_time(at(1709251199)), "2024-02-29T23:59:59Z");
}

TEST(QueueTypes, ParsesWhatItFormats)
{
    for (std::int64_t t : {0LL, 1709251199LL, 1795420800LL, 4102444799LL})
        EXPECT_EQ(parse_time(format_time(at(t))), at(t));
    EXPECT_EQ(parse_time("2026-11-23T08:00:00Z"), at(1795420800));
}

TEST(QueueTypes, RefusesMalformedTimes)
{
    for (const char* bad :
         {"", "2026-11-23", "2026-11-23 08:00:00Z", "2026-11-23T08:00:00", "2026-11-23T08:00:00+00:00",
          "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T08:60:00Z",
          "2026-11-23T08:00:60Z", "2026-1a-23T08:00:00Z", "+026-11-23T08:00:00Z", "2026-11-23T08:00:00Zx"})
        EXPECT_FALSE(parse_time(bad)) << bad;
}

}  // namespace
}  // namespace mailqd
