#include <gtest/gtest.h>

#include "daemon/pop3/pop3_mailbox.hpp"

namespace mailqd {
namespace {

using std::chrono::seconds;

TEST(Pop3Schedule, IntervalAfterSuccess)
{
    BackoffPolicy p{seconds(60), seconds(3600), 2.0, 0.1};
    EXPECT_EQ(next_pull_delay(seconds(300), 0, p, 0.5), seconds(300));
}

TEST(Pop3Schedule, FailuresBackOffButNeverSoonerThanTheInterval)
{
    BackoffPolicy p{seconds(60), seconds(3600), 2.0, 0.0};
    // 60, 120, 240 are below the 300 s interval; then 480, 960, ... up to 3600.
    EXPECT_EQ(next_pull_delay(seconds(300), 1, p, 0.5), seconds(300));
    EXPECT_EQ(next_pull_delay(seconds(300), 3, p, 0.5), seconds(300));
    EXPECT_EQ(next_pull_delay(seconds(300), 4, p, 0.5), seconds(480));
    EXPECT_EQ(next_pull_delay(seconds(300), 5, p, 0.5), seconds(960));
    EXPECT_EQ(next_pull_delay(seconds(300), 50, p, 0.5), seconds(3600));
    // A short interval: the backoff arithmetic of delivery, with jitter.
    BackoffPolicy j{seconds(100), seconds(3600), 2.0, 0.1};
    EXPECT_EQ(next_pull_delay(seconds(10), 1, j, 0.0), seconds(90));
    EXPECT_EQ(next_pull_delay(seconds(10), 2, j, 0.999999), seconds(220));
}

TEST(Pop3Schedule, OptionsFromConfig)
{
    MailboxConfig m;
    m.name = "qq";
    m.host = "pop.example.com";
    m.port = 995;
    m.tls = TlsMode::implicit;
    m.username = "me";
    m.auth = MailboxAuth::apop;
    m.keep = true;
    m.max_size = 1234;
    auto o = pop3_options_for(m, "secret", seconds(42), true);
    EXPECT_EQ(o.name, "qq");
    EXPECT_EQ(o.host, "pop.example.com");
    EXPECT_EQ(o.port, 995);
    EXPECT_EQ(o.tls, TlsMode::implicit);
    EXPECT_TRUE(o.verify);
    EXPECT_EQ(o.username, "me");
    EXPECT_EQ(o.secret, "secret");
    EXPECT_EQ(o.auth, MailboxAuth::apop);
    EXPECT_EQ(o.timeout, seconds(42));
    EXPECT_TRUE(o.keep);
    EXPECT_EQ(o.max_size, 1234u);
    EXPECT_TRUE(o.trace);
}

}  // namespace
}  // namespace mailqd
