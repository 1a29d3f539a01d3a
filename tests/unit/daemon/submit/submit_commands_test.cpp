// Table tests of the submit door's command parser and listen addresses.
#include "daemon/submit/submit_commands.hpp"
#include "daemon/net/tcp_listen.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace mailqd {
namespace {

struct Case {
    std::string line;
    SubmitVerb verb;
    std::string argument;
    bool error = false;
    std::optional<std::uint64_t> size{};
    BodyType body = BodyType::unspecified;
    bool smtputf8 = false;
};

const std::vector<Case> cases = {
    {"EHLO client.example", SubmitVerb::ehlo, "client.example"},
    {"ehlo  client.example  ", SubmitVerb::ehlo, "client.example"},
    {"EHLO", SubmitVerb::ehlo, "", true},
    {"HELO x", SubmitVerb::helo, "x"},
    {"LHLO localhost", SubmitVerb::lhlo, "localhost"},
    {"lhlo", SubmitVerb::lhlo, "", true},
    {"MAIL FROM:<a@example.com>", SubmitVerb::mail, "a@example.com"},
    {"mail from:<a@example.com>", SubmitVerb::mail, "a@example.com"},
    {"MAIL FROM:<>", SubmitVerb::mail, ""},
    {"MAIL FROM: <a@example.com>", SubmitVerb::mail, "a@example.com"},
    {"MAIL FROM:a@example.com", SubmitVerb::mail, "a@example.com"},
    {"MAIL FROM:<a@example.com> SIZE=1000", SubmitVerb::mail, "a@example.com", false, 1000},
    {"MAIL FROM:<a@example.com> size=12 body=8bitmime smtputf8", SubmitVerb::mail, "a@example.com", false, 12,
     BodyType::eight_bit_mime, true},
    {"MAIL FROM:<a@example.com> BODY=7BIT", SubmitVerb::mail, "a@example.com", false, std::nullopt,
     BodyType::seven_bit},
    {"MAIL FROM:<a@example.com>  SIZE=5   SMTPUTF8", SubmitVerb::mail, "a@example.com", false, 5,
     BodyType::unspecified, true},
    {"MAIL FROM:<@relay.example,@b.example:a@example.com>", SubmitVerb::mail, "a@example.com"},
    {"MAIL FROM:<\"odd>name\"@example.com>", SubmitVerb::mail, "\"odd>name\"@example.com"},
    {"MAIL FROM:<a@example.com> SIZE=abc", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com> SIZE=", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com> SIZE=99999999999999999999999", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com> SIZE=1 SIZE=2", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com> BODY=BINARYMIME", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com> SMTPUTF8=yes", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com> AUTH=<>", SubmitVerb::mail, "a@example.com", true},
    {"MAIL FROM:<a@example.com>SIZE=1", SubmitVerb::mail, "", true},
    {"MAIL FROM:<a@example.com", SubmitVerb::mail, "", true},
    {"MAIL FROM:", SubmitVerb::mail, "", true},
    {"MAIL TO:<a@example.com>", SubmitVerb::mail, "", true},
    {"MAIL", SubmitVerb::mail, "", true},
    {"RCPT TO:<b@example.org>", SubmitVerb::rcpt, "b@example.org"},
    {"rcpt to: <b@example.org>", SubmitVerb::rcpt, "b@example.org"},
    {"RCPT TO:<>", SubmitVerb::rcpt, "", true},
    {"RCPT TO:<b@example.org> NOTIFY=NEVER", SubmitVerb::rcpt, "b@example.org", true},
    {"RCPT FROM:<b@example.org>", SubmitVerb::rcpt, "", true},
    {"DATA", SubmitVerb::data, ""},
    {"data ", SubmitVerb::data, ""},
    {"DATA now", SubmitVerb::data, "", true},
    {"RSET", SubmitVerb::rset, ""},
    {"NOOP anything", SubmitVerb::noop, "anything"},
    {"QUIT", SubmitVerb::quit, ""},
    {"VRFY postmaster", SubmitVerb::vrfy, "postmaster"},
    {"VRFY", SubmitVerb::vrfy, "", true},
    {"HELP", SubmitVerb::help, ""},
    {"STARTTLS", SubmitVerb::unknown, "STARTTLS"},
    {"", SubmitVerb::unknown, ""},
    {"GET / HTTP/1.1", SubmitVerb::unknown, "GET"},
    {std::string("\x01\xff\x00zz", 5), SubmitVerb::unknown, std::string("\x01\xff\x00zz", 5)},
};

TEST(SubmitCommands, Table)
{
    for (const auto& c : cases) {
        SCOPED_TRACE(c.line);
        SubmitCommand cmd = parse_submit_command(c.line);
        EXPECT_EQ(cmd.verb, c.verb);
        EXPECT_EQ(!cmd.error.empty(), c.error) << cmd.error;
        if (c.error) continue;
        EXPECT_EQ(cmd.argument, c.argument);
        EXPECT_EQ(cmd.size, c.size);
        EXPECT_EQ(cmd.body, c.body);
        EXPECT_EQ(cmd.smtputf8, c.smtputf8);
    }
}

TEST(SubmitCommands, VerbNames)
{
    EXPECT_EQ(to_string(SubmitVerb::lhlo), "LHLO");
    EXPECT_EQ(parse_submit_command("Ehlo x").verb, SubmitVerb::ehlo);
    EXPECT_NE(parse_submit_command("EHLO").error.find("EHLO"), std::string::npos);
}

TEST(SubmitListen, Addresses)
{
    struct AddressCase {
        std::string text;
        bool ok;
        std::string address;
        unsigned short port;
    };
    const std::vector<AddressCase> table = {
        {"127.0.0.1:2525", true, "127.0.0.1", 2525},
        {"[::1]:2525", true, "::1", 2525},
        {"localhost:25", true, "127.0.0.1", 25},
        {"127.0.0.1:0", true, "127.0.0.1", 0},
        {"127.0.0.1", false, "", 0},
        {"127.0.0.1:", false, "", 0},
        {"127.0.0.1:65536", false, "", 0},
        {"127.0.0.1:25x", false, "", 0},
        {"::1:2525", false, "", 0},
        {"[::1]2525", false, "", 0},
        {"mail.example.com:25", false, "", 0},
        {"", false, "", 0},
    };
    for (const auto& c : table) {
        SCOPED_TRACE(c.text);
        auto endpoint = parse_listen_address(c.text);
        ASSERT_EQ(endpoint.ok(), c.ok);
        if (!c.ok) {
            EXPECT_EQ(endpoint.error().kind, ErrorKind::config);
            continue;
        }
        EXPECT_EQ(endpoint->address().to_string(), c.address);
        EXPECT_EQ(endpoint->port(), c.port);
    }
}

}  // namespace
}  // namespace mailqd
