// Table tests of the mailqd.conf value parsers: input -> expected.
#include <gtest/gtest.h>

#include "spool/config.hpp"

namespace mailqd {
namespace {

using std::chrono::seconds;

TEST(ConfigValues, Durations)
{
    struct Case {
        const char* text;
        std::optional<Seconds> want;
    };
    const Case cases[] = {
        {"0", seconds(0)},
        {"90", seconds(90)},
        {"30s", seconds(30)},
        {"5m", seconds(300)},
        {"1h", seconds(3600)},
        {"5d", seconds(432000)},
        {"", std::nullopt},
        {"m", std::nullopt},
        {"-5m", std::nullopt},
        {"5 m", std::nullopt},
        {" 5m", std::nullopt},
        {"5M", std::nullopt},
        {"1.5h", std::nullopt},
        {"5w", std::nullopt},
        {"1h30m", std::nullopt},
        {"+5", std::nullopt},
        {"99999999999999999999", std::nullopt},
        {"36501d", std::nullopt},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_duration(c.text), c.want) << '"' << c.text << '"';
}

TEST(ConfigValues, Sizes)
{
    struct Case {
        const char* text;
        std::optional<std::uint64_t> want;
    };
    const Case cases[] = {
        {"0", 0},
        {"1024", 1024},
        {"512K", 512ull << 10},
        {"35M", 35ull << 20},
        {"1G", 1ull << 30},
        {"2m", 2ull << 20},
        {"", std::nullopt},
        {"M", std::nullopt},
        {"35MB", std::nullopt},
        {"-1", std::nullopt},
        {"1.5M", std::nullopt},
        {"1T", std::nullopt},
        {"99999999999999999999G", std::nullopt},
        {"17179869184G", std::nullopt},  // 2^64 bytes: overflows
    };
    for (const auto& c : cases) EXPECT_EQ(parse_size(c.text), c.want) << '"' << c.text << '"';
}

TEST(ConfigValues, Booleans)
{
    for (auto yes : {"yes", "true", "on", "1", "YES", "True"}) EXPECT_EQ(parse_bool(yes), true) << yes;
    for (auto no : {"no", "false", "off", "0", "No", "OFF"}) EXPECT_EQ(parse_bool(no), false) << no;
    for (auto bad : {"", "y", "n", "2", "yes please", "enable"})
        EXPECT_EQ(parse_bool(bad), std::nullopt) << bad;
}

TEST(ConfigValues, Modes)
{
    struct Case {
        const char* text;
        std::optional<mode_t> want;
    };
    const Case cases[] = {
        {"0660", 0660},     {"660", 0660},           {"0600", 0600},          {"0777", 0777},
        {"0", 0},           {"0999", std::nullopt},  {"0o660", std::nullopt}, {"1777", std::nullopt},
        {"", std::nullopt}, {"00660", std::nullopt}, {"-660", std::nullopt},  {"rw-rw----", std::nullopt},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_mode(c.text), c.want) << '"' << c.text << '"';
}

TEST(ConfigValues, Ports)
{
    struct Case {
        const char* text;
        std::optional<std::uint16_t> want;
    };
    const Case cases[] = {
        {"1", 1},
        {"25", 25},
        {"587", 587},
        {"65535", 65535},
        {"0", std::nullopt},
        {"65536", std::nullopt},
        {"99999", std::nullopt},
        {"", std::nullopt},
        {"-1", std::nullopt},
        {"smtp", std::nullopt},
        {"25 ", std::nullopt},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_port(c.text), c.want) << '"' << c.text << '"';
}

TEST(ConfigValues, Enums)
{
    EXPECT_EQ(parse_tls_mode("none"), TlsMode::none);
    EXPECT_EQ(parse_tls_mode("starttls"), TlsMode::starttls);
    EXPECT_EQ(parse_tls_mode("implicit"), TlsMode::implicit);
    EXPECT_EQ(parse_tls_mode("ssl"), std::nullopt);
    EXPECT_EQ(parse_relay_auth("auto"), RelayAuth::automatic);
    EXPECT_EQ(parse_relay_auth("xoauth2"), RelayAuth::xoauth2);
    EXPECT_EQ(parse_relay_auth("login"), RelayAuth::login);
    EXPECT_EQ(parse_relay_auth("apop"), std::nullopt);
    EXPECT_EQ(parse_mailbox_auth("apop"), MailboxAuth::apop);
    EXPECT_EQ(parse_mailbox_auth("user"), MailboxAuth::user);
    EXPECT_EQ(parse_mailbox_auth("login"), std::nullopt);
    // The words round-trip.
    for (auto m : {TlsMode::none, TlsMode::starttls, TlsMode::implicit})
        EXPECT_EQ(parse_tls_mode(to_string(m)), m);
    for (auto a :
         {RelayAuth::automatic, RelayAuth::none, RelayAuth::plain, RelayAuth::login, RelayAuth::xoauth2})
        EXPECT_EQ(parse_relay_auth(to_string(a)), a);
    for (auto a : {MailboxAuth::automatic, MailboxAuth::user, MailboxAuth::plain, MailboxAuth::apop})
        EXPECT_EQ(parse_mailbox_auth(to_string(a)), a);
}

TEST(ConfigValues, GlobLists)
{
    using V = std::vector<std::string>;
    EXPECT_EQ(parse_globs("*"), V{"*"});
    EXPECT_EQ(parse_globs("*@a.org  b@*\tc?d@[ab].net"), (V{"*@a.org", "b@*", "c?d@[ab].net"}));
    EXPECT_EQ(parse_globs(""), std::nullopt);
    EXPECT_EQ(parse_globs("   "), std::nullopt);
    EXPECT_EQ(parse_globs("*@[ab.org"), std::nullopt);
}

TEST(ConfigValues, UserLists)
{
    using V = std::vector<std::string>;
    EXPECT_EQ(parse_user_list("*"), V{"*"});
    EXPECT_EQ(parse_user_list("www-data  @mailqd\talice.b host$"),
              (V{"www-data", "@mailqd", "alice.b", "host$"}));
    EXPECT_EQ(parse_user_list(""), V{});
    for (const char* bad : {"@", "a,b", "-rf", "al$ce", "a*", "@*", "user@host"})
        EXPECT_EQ(parse_user_list(bad), std::nullopt) << bad;
}

TEST(ConfigValues, GlobMatch)
{
    struct Case {
        const char* pattern;
        const char* text;
        bool want;
    };
    const Case cases[] = {
        {"*", "", true},
        {"*", "a@b.org", true},
        {"*@example.com", "app@example.com", true},
        {"*@example.com", "app@EXAMPLE.com", true},
        {"*@Example.COM", "app@example.com", true},
        {"*@example.com", "app@example.com.evil", false},
        {"*@example.com", "app@sub.example.com", false},
        {"*@*.example.com", "app@sub.example.com", true},
        {"a?c@x", "abc@x", true},
        {"a?c@x", "ac@x", false},
        {"[ab]*@x", "bob@x", true},
        {"[ab]*@x", "carl@x", false},
        {"[!ab]*@x", "carl@x", true},
        {"[^ab]*@x", "bob@x", false},
        {"[a-c]x", "Bx", true},
        {"[A-C]x", "bx", true},
        {"[a-c]x", "dx", false},
        {"[]]x", "]x", true},
        {"[x", "[x", true},  // unterminated [ is literal
        {"*a*b*c*", "xxaxxbxxcxx", true},
        {"*a*b*c*", "xxaxxcxxbxx", false},
        {"", "", true},
        {"", "a", false},
        {"a*", "", false},
        {"**", "abc", true},
    };
    for (const auto& c : cases)
        EXPECT_EQ(glob_match(c.pattern, c.text), c.want) << c.pattern << " vs " << c.text;
}

TEST(ConfigValues, HostPort)
{
    EXPECT_EQ(parse_host_port("127.0.0.1:2525"), (HostPort{"127.0.0.1", 2525}));
    EXPECT_EQ(parse_host_port("[::1]:2525"), (HostPort{"::1", 2525}));
    EXPECT_EQ(parse_host_port("localhost:25"), (HostPort{"localhost", 25}));
    for (auto bad : {"", "127.0.0.1", "127.0.0.1:", ":25", "::1:2525", "[::1]2525", "[::1]:", "[nothost]:25",
                     "127.0.0.1:0", "127.0.0.1:65536", "a b:25", "[::1:25"})
        EXPECT_EQ(parse_host_port(bad), std::nullopt) << bad;
}

TEST(ConfigValues, HostNames)
{
    EXPECT_EQ(parse_host_name("smtp.example.com"), "smtp.example.com");
    EXPECT_EQ(parse_host_name("127.0.0.1"), "127.0.0.1");
    EXPECT_EQ(parse_host_name("::1"), "::1");
    EXPECT_EQ(parse_host_name("[::1]"), "::1");
    EXPECT_EQ(parse_host_name("mail_relay-2.local"), "mail_relay-2.local");
    for (auto bad :
         {"", "a b", "smtp.example.com:587", "-x.org", ".x.org", "a..b", "[nothost]", "x/y", "h\xc3\xa9.org"})
        EXPECT_EQ(parse_host_name(bad), std::nullopt) << bad;
}

TEST(ConfigValues, Loopback)
{
    for (auto yes : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"})
        EXPECT_TRUE(is_loopback_host(yes)) << yes;
    for (auto no :
         {"smtp.example.com", "128.0.0.1", "10.0.0.1", "::2", "localhost.example.com", "0.0.0.0", ""})
        EXPECT_FALSE(is_loopback_host(no)) << no;
}

}  // namespace
}  // namespace mailqd
