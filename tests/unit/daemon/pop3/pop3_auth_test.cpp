#include <gtest/gtest.h>

#include "daemon/pop3/pop3_auth.hpp"

namespace mailqd {
namespace {

Pop3Capabilities caps(bool user, std::vector<std::string> sasl, bool known = true)
{
    Pop3Capabilities c;
    c.known = known;
    c.user = user;
    c.sasl = std::move(sasl);
    return c;
}

TEST(Pop3Auth, AutoPrefersPlainThenUserThenApop)
{
    auto r = choose_pop3_auth(MailboxAuth::automatic, caps(true, {"PLAIN"}), true, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, MailboxAuth::plain);
    r = choose_pop3_auth(MailboxAuth::automatic, caps(true, {}), true, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, MailboxAuth::user);
    // No CAPA at all: USER is the RFC 1939 baseline.
    r = choose_pop3_auth(MailboxAuth::automatic, caps(false, {}, false), false, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, MailboxAuth::user);
    r = choose_pop3_auth(MailboxAuth::automatic, caps(false, {}), true, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, MailboxAuth::apop);
}

TEST(Pop3Auth, NeverSendsPasswordInClearText)
{
    // Not TLS, not loopback: only APOP is acceptable.
    auto r = choose_pop3_auth(MailboxAuth::automatic, caps(true, {"PLAIN"}), true, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, MailboxAuth::apop);
    EXPECT_FALSE(choose_pop3_auth(MailboxAuth::automatic, caps(true, {"PLAIN"}), false, false));
    EXPECT_FALSE(choose_pop3_auth(MailboxAuth::user, caps(true, {}), true, false));
    EXPECT_FALSE(choose_pop3_auth(MailboxAuth::plain, caps(true, {"PLAIN"}), true, false));
    EXPECT_FALSE(choose_pop3_auth(MailboxAuth::apop, caps(true, {}), false, true));
    EXPECT_TRUE(choose_pop3_auth(MailboxAuth::apop, caps(true, {}), true, false));
}

TEST(Pop3Auth, ApopDigestMatchesRfc1939Example)
{
    EXPECT_EQ(apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
              "c4c9334bac560ecc979e58001b3e22fb");
}

TEST(Pop3Auth, SaslPlainResponse)
{
    // RFC 4616: authzid empty, authcid "tim", password "tanstaaftanstaaf".
    EXPECT_EQ(sasl_plain_response("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    EXPECT_EQ(sasl_plain_response("", ""), "AAA=");
}

}  // namespace
}  // namespace mailqd
