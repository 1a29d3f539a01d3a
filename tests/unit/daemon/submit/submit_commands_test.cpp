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
    {"RCPT TO:<b@example.org> XFORWARD=1", SubmitVerb::rcpt, "b@example.org", true},
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

// RFC 3461 on MAIL and RCPT: values decoded from xtext; a bad or repeated
// one is a 501 with a text that names the parameter.
TEST(SubmitCommands, DsnParameters)
{
    struct DsnCase {
        std::string line;
        std::string error;  // a word of the error text, "" when the line is good
        MessageDsn dsn{};
        RecipientDsn rcpt{};
    };
    const DsnNotify never{true, false, false, false}, failure{true, false, true, false},
        all{true, true, true, true}, success_delay{true, true, false, true};
    const std::vector<DsnCase> table = {
        {"MAIL FROM:<a@x> RET=HDRS", "", {DsnRet::hdrs, ""}},
        {"MAIL FROM:<a@x> ret=full ENVID=abc", "", {DsnRet::full, "abc"}},
        {"MAIL FROM:<a@x> SIZE=10 ENVID=QQ+2B+3Dx+20y BODY=8BITMIME", "", {DsnRet::unspecified, "QQ+=x y"}},
        {"MAIL FROM:<a@x> ENVID=" + std::string(100, 'e'), "", {DsnRet::unspecified, std::string(100, 'e')}},
        {"MAIL FROM:<a@x> ENVID=" + std::string(101, 'e'), "ENVID"},
        {"MAIL FROM:<a@x> ENVID=", "ENVID"},
        {"MAIL FROM:<a@x> ENVID=a=b", "ENVID"},
        {"MAIL FROM:<a@x> ENVID=a+0D+0Ab", "ENVID"},  // decodes to a line break
        {"MAIL FROM:<a@x> ENVID=a+4", "ENVID"},
        {"MAIL FROM:<a@x> ENVID=a ENVID=b", "ENVID"},
        {"MAIL FROM:<a@x> RET=BODY", "RET"},
        {"MAIL FROM:<a@x> RET", "RET"},
        {"MAIL FROM:<a@x> RET=HDRS RET=FULL", "RET"},
        {"MAIL FROM:<a@x> NOTIFY=NEVER", "Unsupported"},  // a RCPT parameter
        {"RCPT TO:<b@y> NOTIFY=NEVER", "", {}, {never, ""}},
        {"RCPT TO:<b@y> notify=failure", "", {}, {failure, ""}},
        {"RCPT TO:<b@y> NOTIFY=DELAY,SUCCESS,DELAY", "", {}, {success_delay, ""}},
        {"RCPT TO:<b@y> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;b+2Bx@y", "", {}, {all, "rfc822;b+x@y"}},
        {"RCPT TO:<b@y> ORCPT=rfc822;b@y", "", {}, {{}, "rfc822;b@y"}},
        {"RCPT TO:<b@y> NOTIFY=NEVER,SUCCESS", "NOTIFY"},
        {"RCPT TO:<b@y> NOTIFY=", "NOTIFY"},
        {"RCPT TO:<b@y> NOTIFY=FAILURE,", "NOTIFY"},
        {"RCPT TO:<b@y> NOTIFY=SOMETIMES", "NOTIFY"},
        {"RCPT TO:<b@y> NOTIFY=NEVER NOTIFY=NEVER", "NOTIFY"},
        {"RCPT TO:<b@y> ORCPT=b@y", "ORCPT"},
        {"RCPT TO:<b@y> ORCPT=;b@y", "ORCPT"},
        {"RCPT TO:<b@y> ORCPT=rfc822;", "ORCPT"},
        {"RCPT TO:<b@y> ORCPT=rfc822;b+0A@y", "ORCPT"},
        {"RCPT TO:<b@y> ORCPT=rfc822;" + std::string(600, 'b'), "ORCPT"},
        {"RCPT TO:<b@y> RET=HDRS", "Unsupported"},  // a MAIL parameter
    };
    for (const auto& c : table) {
        SCOPED_TRACE(c.line);
        SubmitCommand cmd = parse_submit_command(c.line);
        if (!c.error.empty()) {
            EXPECT_NE(cmd.error.find(c.error), std::string::npos) << cmd.error;
            continue;
        }
        EXPECT_EQ(cmd.error, "");
        EXPECT_EQ(cmd.dsn, c.dsn);
        EXPECT_EQ(cmd.rcpt_dsn, c.rcpt);
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
