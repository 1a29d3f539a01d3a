// AUTH encodings (PLAIN, LOGIN, XOAUTH2), base64 and the mechanism choice.
#include "daemon/smtp/smtp_auth.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

TEST(SmtpAuth, Base64Table)
{
    const std::pair<std::string, std::string> cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"Username:", "VXNlcm5hbWU6"},
        {std::string("\0\xff\xfe", 3), "AP/+"},
    };
    for (const auto& [plain, encoded] : cases) {
        EXPECT_EQ(sasl_base64_encode(plain), encoded);
        auto back = sasl_base64_decode(encoded);
        ASSERT_TRUE(back) << encoded;
        EXPECT_EQ(*back, plain);
    }
}

TEST(SmtpAuth, Base64DecodeIsStrict)
{
    for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!A==", "Zm 9v", "=Zm9", "Zg=a"})
        EXPECT_FALSE(sasl_base64_decode(bad)) << bad;
}

TEST(SmtpAuth, PlainResponse)
{
    // RFC 4616: authzid empty, NUL user NUL password.
    std::string expected = std::string("\0user\0p\xc3\xa4ss", 11);
    auto decoded = sasl_base64_decode(auth_plain_response("user", "p\xc3\xa4ss"));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, expected);
    EXPECT_EQ(auth_plain_response("tim", "tanstaaftanstaaf"), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
}

TEST(SmtpAuth, Xoauth2Response)
{
    // Google's documented example.
    EXPECT_EQ(xoauth2_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
              "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
              "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
}

TEST(SmtpAuth, AutomaticPrefersPlainThenLogin)
{
    auto both = choose_auth_mechanism(RelayAuth::automatic, {"LOGIN", "PLAIN", "XOAUTH2"});
    ASSERT_TRUE(both);
    EXPECT_EQ(*both, AuthMechanism::plain);
    auto login = choose_auth_mechanism(RelayAuth::automatic, {"CRAM-MD5", "LOGIN"});
    ASSERT_TRUE(login);
    EXPECT_EQ(*login, AuthMechanism::login);
    // XOAUTH2 only when configured.
    auto oauth_only = choose_auth_mechanism(RelayAuth::automatic, {"XOAUTH2"});
    ASSERT_FALSE(oauth_only);
    EXPECT_NE(oauth_only.error().message.find("offers XOAUTH2"), std::string::npos);
    auto nothing = choose_auth_mechanism(RelayAuth::automatic, {});
    ASSERT_FALSE(nothing);
    EXPECT_NE(nothing.error().message.find("offers no AUTH"), std::string::npos);
}

TEST(SmtpAuth, ExplicitMethodMustBeOffered)
{
    auto x = choose_auth_mechanism(RelayAuth::xoauth2, {"PLAIN", "XOAUTH2"});
    ASSERT_TRUE(x);
    EXPECT_EQ(*x, AuthMechanism::xoauth2);
    auto login = choose_auth_mechanism(RelayAuth::login, {"PLAIN", "LOGIN"});
    ASSERT_TRUE(login);
    EXPECT_EQ(*login, AuthMechanism::login);
    auto missing = choose_auth_mechanism(RelayAuth::plain, {"LOGIN"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "AUTH PLAIN is configured but the server offers LOGIN");
}

}  // namespace
}  // namespace mailqd
