// RFC 3461's parameters and xtext, as the door, sendmail and the store read them.
#include "spool/dsn_params.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace mailqd {
namespace {

TEST(Xtext, EncodesWhatIsNotAnXcharAsPlusHex)
{
    EXPECT_EQ(xtext_encode("abc-123@x.example"), "abc-123@x.example");
    EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
    EXPECT_EQ(xtext_encode(std::string("\r\n\x7f\xff", 4)), "+0D+0A+7F+FF");
    EXPECT_EQ(xtext_encode(""), "");
}

TEST(Xtext, DecodesAndRefusesWhatIsNotXtext)
{
    struct Case {
        std::string xtext;
        std::optional<std::string> decoded;
    };
    const std::vector<Case> table = {
        {"plain", "plain"},
        {"a+2Bb+3Dc+20d", "a+b=c d"},
        {"+2b", "+"},  // lower-case hex is read too
        {"", ""},
        {"a=b", std::nullopt},
        {"a b", std::nullopt},
        {"a+2", std::nullopt},
        {"a+", std::nullopt},
        {"a+G0", std::nullopt},
        {std::string("a\x80", 2), std::nullopt},
    };
    for (const auto& c : table) {
        SCOPED_TRACE(c.xtext);
        EXPECT_EQ(xtext_decode(c.xtext), c.decoded);
    }
    for (std::string text : {"x+y=z", "Q p", "~!+="}) EXPECT_EQ(xtext_decode(xtext_encode(text)), text);
}

TEST(DsnNotify, ParsesNeverOrAListAndPrintsItInOneOrder)
{
    struct Case {
        std::string text;
        std::optional<std::string> canonical;  // to_string of the result
    };
    const std::vector<Case> table = {
        {"NEVER", "NEVER"},
        {"never", "NEVER"},
        {"success", "SUCCESS"},
        {"Delay,Failure,Success", "SUCCESS,FAILURE,DELAY"},
        {"failure,failure", "FAILURE"},
        {"never,success", std::nullopt},
        {"success,never", std::nullopt},
        {"", std::nullopt},
        {"success,", std::nullopt},
        {",success", std::nullopt},
        {"success failure", std::nullopt},
        {"always", std::nullopt},
    };
    for (const auto& c : table) {
        SCOPED_TRACE(c.text);
        auto notify = parse_dsn_notify(c.text);
        ASSERT_EQ(notify.has_value(), c.canonical.has_value());
        if (!notify) continue;
        EXPECT_TRUE(notify->given);
        EXPECT_EQ(to_string(*notify), *c.canonical);
        EXPECT_EQ(parse_dsn_notify(to_string(*notify)), notify);  // the store's round trip
    }
    EXPECT_EQ(to_string(DsnNotify{}), "");
}

TEST(DsnNotify, DecidesWhetherAFailureIsReported)
{
    EXPECT_TRUE(DsnNotify{}.wants_failure());  // none given: failures, as before DSN
    EXPECT_FALSE(DsnNotify{}.never());
    EXPECT_FALSE(parse_dsn_notify("never")->wants_failure());
    EXPECT_TRUE(parse_dsn_notify("never")->never());
    EXPECT_FALSE(parse_dsn_notify("success")->wants_failure());
    EXPECT_TRUE(parse_dsn_notify("success,failure")->wants_failure());
}

TEST(DsnRet, FullOrHdrs)
{
    EXPECT_EQ(parse_dsn_ret("HDRS"), DsnRet::hdrs);
    EXPECT_EQ(parse_dsn_ret("full"), DsnRet::full);
    EXPECT_EQ(parse_dsn_ret("headers"), std::nullopt);
    EXPECT_EQ(parse_dsn_ret(""), std::nullopt);
    EXPECT_EQ(to_string(DsnRet::hdrs), "HDRS");
    EXPECT_EQ(to_string(DsnRet::unspecified), "");
}

TEST(DsnEnvid, PrintableAsciiOfAtMostAHundred)
{
    EXPECT_TRUE(valid_envid("abc"));
    EXPECT_TRUE(valid_envid("a b+c=d"));
    EXPECT_TRUE(valid_envid(std::string(100, 'x')));
    EXPECT_FALSE(valid_envid(std::string(101, 'x')));
    EXPECT_FALSE(valid_envid(""));
    EXPECT_FALSE(valid_envid("a\r\nb"));
    EXPECT_FALSE(valid_envid("a\tb"));
    EXPECT_FALSE(valid_envid("caf\xc3\xa9"));
    EXPECT_EQ(parse_envid_param("a+2Bb"), "a+b");
    EXPECT_EQ(parse_envid_param("a+0Ab"), std::nullopt);
}

TEST(DsnOrcpt, TypeSemicolonAddressBothWays)
{
    EXPECT_EQ(parse_orcpt_param("rfc822;a+2Bb@example.org"), "rfc822;a+b@example.org");
    EXPECT_EQ(parse_orcpt_param("RFC822;a@b"), "RFC822;a@b");
    EXPECT_EQ(parse_orcpt_param("a@b"), std::nullopt);
    EXPECT_EQ(parse_orcpt_param("rfc 822;a@b"), std::nullopt);
    EXPECT_EQ(parse_orcpt_param("rfc822;"), std::nullopt);
    EXPECT_EQ(parse_orcpt_param("rfc822;a+0D+0A@b"), std::nullopt);
    EXPECT_EQ(orcpt_param("rfc822;a+b=c@example.org"), "rfc822;a+2Bb+3Dc@example.org");
    EXPECT_EQ(parse_orcpt_param(orcpt_param("rfc822;x y@z")), "rfc822;x y@z");
    EXPECT_TRUE(valid_orcpt("rfc822;" + std::string(493, 'a')));
    EXPECT_FALSE(valid_orcpt("rfc822;" + std::string(494, 'a')));
}

}  // namespace
}  // namespace mailqd
