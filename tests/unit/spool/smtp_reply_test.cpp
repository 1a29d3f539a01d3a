// SMTP reply parsing and EHLO capabilities: tables of lines -> reply.
#include "spool/smtp_reply.hpp"

#include <random>

#include <gtest/gtest.h>

namespace mailqd {
namespace {

using Status = SmtpReplyParser::Status;

// Feeds lines; returns the reply, or nullopt with *error set.
std::optional<SmtpReply> parse(const std::vector<std::string>& lines, std::string* error = nullptr)
{
    SmtpReplyParser parser;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        Status s = parser.feed(lines[i]);
        if (s == Status::error) {
            if (error) *error = parser.error();
            return std::nullopt;
        }
        if (s == Status::done) {
            EXPECT_EQ(i + 1, lines.size()) << "reply ended early";
            return parser.take();
        }
    }
    if (error) *error = "incomplete";
    return std::nullopt;
}

struct ReplyCase {
    std::vector<std::string> lines;
    int code;
    std::string enhanced;
    std::string text;
};

TEST(SmtpReply, ParsesTable)
{
    const ReplyCase cases[] = {
        {{"220 mx.example.org ESMTP ready"}, 220, "", "mx.example.org ESMTP ready"},
        {{"250 2.1.0 Ok"}, 250, "2.1.0", "Ok"},
        {{"451 4.3.0 try later"}, 451, "4.3.0", "try later"},
        {{"550-5.1.1 no such", "550-5.1.1 user here", "550 5.1.1 sorry"},
         550,
         "5.1.1",
         "no such user here sorry"},
        {{"354 End data with <CR><LF>.<CR><LF>"}, 354, "", "End data with <CR><LF>.<CR><LF>"},
        {{"250"}, 250, "", ""},
        {{"250 "}, 250, "", ""},
        {{"250-first", "250 second"}, 250, "", "first second"},
        // An enhanced code of another class is text, not a code.
        {{"250 4.3.0 odd"}, 250, "", "4.3.0 odd"},
        {{"421 4.4.2 timeout"}, 421, "4.4.2", "timeout"},
        {{"554 5.7.1"}, 554, "5.7.1", ""},
        {{"250 2.0.0Ok"}, 250, "", "2.0.0Ok"},
        {{"535 5.7.8 Authentication credentials invalid"},
         535,
         "5.7.8",
         "Authentication credentials invalid"},
        {{"220 \x1b[31mred\r"}, 220, "", "?[31mred?"},
    };
    for (const auto& c : cases) {
        std::string error;
        auto reply = parse(c.lines, &error);
        ASSERT_TRUE(reply) << c.lines[0] << ": " << error;
        EXPECT_EQ(reply->code, c.code) << c.lines[0];
        EXPECT_EQ(reply->enhanced, c.enhanced) << c.lines[0];
        EXPECT_EQ(reply->text, c.text) << c.lines[0];
        EXPECT_EQ(reply->lines.size(), c.lines.size());
    }
}

TEST(SmtpReply, RejectsMalformed)
{
    const std::vector<std::vector<std::string>> bad = {
        {""},       {"25"},   {"abc hello"}, {"150 no"},
        {"650 no"}, {"250x"}, {"2500 no"},   {"250-a", "251 b"},  // code changes within the reply
        {"hello"},
    };
    for (const auto& lines : bad) {
        std::string error;
        EXPECT_FALSE(parse(lines, &error)) << lines.back();
        EXPECT_FALSE(error.empty());
    }
}

TEST(SmtpReply, BoundsLineLengthAndCount)
{
    std::string long_line = "250 " + std::string(max_reply_line_length, 'x');
    std::string error;
    EXPECT_FALSE(parse({long_line}, &error));
    EXPECT_EQ(error, "reply line too long");

    std::string ok_line = "250 " + std::string(max_reply_line_length - 4, 'x');
    EXPECT_TRUE(parse({ok_line}));

    std::vector<std::string> many(max_reply_lines, "250-x");
    many.push_back("250 end");
    EXPECT_FALSE(parse(many, &error));
    EXPECT_EQ(error, "reply has too many lines");

    std::vector<std::string> just(max_reply_lines - 1, "250-x");
    just.push_back("250 end");
    EXPECT_TRUE(parse(just));
}

TEST(SmtpReply, ToStringForLogs)
{
    auto reply = parse({"451-4.3.0 try", "451 4.3.0 later"});
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->to_string(), "451 4.3.0 try later");
    auto plain = parse({"250 Ok"});
    EXPECT_EQ(plain->to_string(), "250 Ok");
}

TEST(SmtpReply, ParserIsReusableAfterTake)
{
    SmtpReplyParser parser;
    EXPECT_EQ(parser.feed("250-a"), Status::more);
    EXPECT_EQ(parser.feed("250 b"), Status::done);
    EXPECT_EQ(parser.take().text, "a b");
    EXPECT_EQ(parser.feed("354 go"), Status::done);
    EXPECT_EQ(parser.take().code, 354);
}

// Whatever a server sends, the parser ends in done or error within the
// line bound, and what it returns is sanitised.
TEST(SmtpReply, RandomLinesNeverEscapeTheBounds)
{
    std::mt19937 rng(7);
    const std::string alphabet =
        "0123456789 -.\x01\x1b\x7f\xff"
        "25ab";
    for (int round = 0; round < 5000; ++round) {
        SmtpReplyParser parser;
        SmtpReplyParser::Status status = SmtpReplyParser::Status::more;
        std::size_t fed = 0;
        while (status == SmtpReplyParser::Status::more) {
            std::string line(rng() % 12, ' ');
            for (char& c : line) c = alphabet[rng() % alphabet.size()];
            if (rng() % 3 == 0) line = (rng() % 2 ? "250-" : "250 ") + line;
            status = parser.feed(line);
            ASSERT_LE(++fed, max_reply_lines + 1);
        }
        if (status == SmtpReplyParser::Status::done) {
            SmtpReply reply = parser.take();
            ASSERT_GE(reply.code, 200);
            ASSERT_LE(reply.code, 599);
            for (char c : reply.text) ASSERT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f);
        } else {
            ASSERT_FALSE(parser.error().empty());
        }
    }
}

TEST(SmtpEhlo, ParsesCapabilities)
{
    auto reply = parse({"250-mx.example.org Hello", "250-PIPELINING", "250-SIZE 10240000", "250-8bitmime",
                        "250-SMTPUTF8", "250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250-dsn",
                        "250-AUTH PLAIN login XOAUTH2", "250-AUTH=LOGIN CRAM-MD5", "250 HELP"});
    ASSERT_TRUE(reply);
    EhloCapabilities caps = parse_ehlo(*reply);
    EXPECT_TRUE(caps.pipelining);
    EXPECT_TRUE(caps.starttls);
    EXPECT_TRUE(caps.eight_bit_mime);
    EXPECT_TRUE(caps.smtputf8);
    EXPECT_TRUE(caps.enhanced_status_codes);
    EXPECT_TRUE(caps.dsn);
    ASSERT_TRUE(caps.size);
    EXPECT_EQ(*caps.size, 10240000u);
    EXPECT_EQ(caps.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "XOAUTH2", "CRAM-MD5"}));
    EXPECT_TRUE(caps.offers_auth("plain"));
    EXPECT_FALSE(caps.offers_auth("GSSAPI"));
}

TEST(SmtpEhlo, GreetingLineIsNotAKeywordAndSizeWithoutLimit)
{
    auto reply = parse({"250-STARTTLS is my name", "250 SIZE"});
    EhloCapabilities caps = parse_ehlo(*reply);
    EXPECT_FALSE(caps.starttls);
    ASSERT_TRUE(caps.size);
    EXPECT_EQ(*caps.size, 0u);
    auto helo = parse({"250 mx.example.org"});
    EhloCapabilities none = parse_ehlo(*helo);
    EXPECT_FALSE(none.pipelining);
    EXPECT_FALSE(none.size);
    EXPECT_TRUE(none.auth.empty());
}

}  // namespace
}  // namespace mailqd
