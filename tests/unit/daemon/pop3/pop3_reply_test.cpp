#include <gtest/gtest.h>

#include "daemon/pop3/pop3_reply.hpp"

namespace mailqd {
namespace {

TEST(Pop3Status, ParsesOkAndErrWithResponseCodes)
{
    struct Case {
        const char* line;
        bool parsed;
        bool ok;
        const char* code;
        const char* text;
    };
    const Case cases[] = {
        {"+OK", true, true, "", ""},
        {"+OK Dovecot ready.", true, true, "", "Dovecot ready."},
        {"-ERR", true, false, "", ""},
        {"-ERR [AUTH] Authentication failed.", true, false, "AUTH", "Authentication failed."},
        {"-ERR [sys/temp] busy", true, false, "SYS/TEMP", "busy"},
        {"+OK [not a code] text", true, true, "", "[not a code] text"},
        {"-ERR bad\x01text", true, false, "", "bad?text"},
        {"+OKAY", false, false, "", ""},
        {"+ challenge", false, false, "", ""},
        {"", false, false, "", ""},
        {"OK", false, false, "", ""},
    };
    for (const auto& c : cases) {
        auto s = parse_pop3_status(c.line);
        ASSERT_EQ(s.has_value(), c.parsed) << c.line;
        if (!s) continue;
        EXPECT_EQ(s->ok, c.ok) << c.line;
        EXPECT_EQ(s->code, c.code) << c.line;
        EXPECT_EQ(s->text, c.text) << c.line;
    }
}

TEST(Pop3Greeting, FindsApopTimestamp)
{
    EXPECT_EQ(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
              "<1896.697170952@dbc.mtview.ca.us>");
    EXPECT_FALSE(apop_timestamp("Dovecot ready."));
    EXPECT_FALSE(apop_timestamp("ready <no-at-sign>"));
    EXPECT_FALSE(apop_timestamp("ready <unterminated@x"));
}

TEST(Pop3Capa, ParsesCapabilities)
{
    auto caps = parse_pop3_capa(
        "CAPA\nTOP\nUIDL\nRESP-CODES\nPIPELINING\nAUTH-RESP-CODE\nSTLS\nUSER\nSASL PLAIN login\n");
    EXPECT_TRUE(caps.known);
    EXPECT_TRUE(caps.stls);
    EXPECT_TRUE(caps.user);
    EXPECT_TRUE(caps.uidl);
    EXPECT_TRUE(caps.pipelining);
    EXPECT_TRUE(caps.resp_codes);
    EXPECT_TRUE(caps.has_sasl("plain"));
    EXPECT_TRUE(caps.has_sasl("LOGIN"));
    EXPECT_FALSE(caps.has_sasl("XOAUTH2"));
    auto none = parse_pop3_capa("");
    EXPECT_TRUE(none.known);
    EXPECT_FALSE(none.stls);
    EXPECT_FALSE(Pop3Capabilities{}.known);
}

TEST(Pop3Listing, ParsesStatListAndUidl)
{
    EXPECT_EQ(parse_pop3_stat("2 320"), (std::pair<std::uint64_t, std::uint64_t>{2, 320}));
    EXPECT_EQ(parse_pop3_stat("2 320 extra"), (std::pair<std::uint64_t, std::uint64_t>{2, 320}));
    EXPECT_FALSE(parse_pop3_stat("two 320"));
    EXPECT_FALSE(parse_pop3_stat("2"));
    EXPECT_EQ(parse_pop3_list_line("1 120"), (std::pair<std::uint64_t, std::uint64_t>{1, 120}));
    EXPECT_FALSE(parse_pop3_list_line("1 -5"));
    auto u = parse_pop3_uidl_line("3 whqtswO00WBw418f9t5JxYwZ");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->first, 3u);
    EXPECT_EQ(u->second, "whqtswO00WBw418f9t5JxYwZ");
    EXPECT_FALSE(parse_pop3_uidl_line("3"));
    EXPECT_FALSE(parse_pop3_uidl_line("3 a b"));
    EXPECT_FALSE(parse_pop3_uidl_line("3 " + std::string(71, 'a')));
    EXPECT_TRUE(parse_pop3_uidl_line("3 " + std::string(70, 'a')));
    EXPECT_FALSE(parse_pop3_uidl_line("3 caf\xc3\xa9"));
}

// Feeds the wire bytes in pieces of `step` bytes, as reads would deliver them.
std::pair<std::string, MultilineDecoder::Step> decode(std::string wire, std::size_t step,
                                                      std::uint64_t max = 1 << 30,
                                                      std::string* rest = nullptr)
{
    MultilineDecoder decoder(max);
    std::string out, pending;
    MultilineDecoder::Step result = MultilineDecoder::Step::more;
    std::size_t pos = 0;
    while (result == MultilineDecoder::Step::more && pos < wire.size()) {
        pending += wire.substr(pos, step);
        pos += step;
        std::size_t used = decoder.feed(pending, out, result);
        pending.erase(0, used);
    }
    if (rest) *rest = pending + (pos < wire.size() ? wire.substr(pos) : "");
    return {out, result};
}

TEST(MultilineDecoder, UnstuffsDotsAndNormalisesLineEndings)
{
    const std::string wire = "Subject: x\r\n\r\n..starts with a dot\r\n...\r\n.. \r\n.\r\n";
    for (std::size_t step : {1u, 2u, 3u, 7u, 4096u}) {
        std::string rest;
        auto [out, step_result] = decode(wire + "+OK next\r\n", step, 1 << 30, &rest);
        EXPECT_EQ(step_result, MultilineDecoder::Step::done) << step;
        EXPECT_EQ(out, "Subject: x\n\n.starts with a dot\n..\n. \n") << step;
        EXPECT_EQ(rest, "+OK next\r\n") << step;
    }
}

TEST(MultilineDecoder, KeepsAnyByteAndAcceptsBareLf)
{
    std::string wire("a\0b\rc\r\r\nbare lf\n.\n", 19);
    auto [out, step] = decode(wire, 5);
    EXPECT_EQ(step, MultilineDecoder::Step::done);
    EXPECT_EQ(out, std::string("a\0b\rc\r\nbare lf\n", 15));
}

TEST(MultilineDecoder, DotLineInsideALongLineIsContent)
{
    // A line longer than kChunk starting with a dot, then ".\r\n" in the middle
    // of nothing: only a "." line on its own ends the body.
    std::string long_line = "." + std::string(MultilineDecoder::kChunk * 2, 'x');
    std::string wire = "..\r\n" + long_line + "\r\n" + ".\r\n";
    for (std::size_t step : {1000u, 40000u}) {
        auto [out, result] = decode(wire, step);
        EXPECT_EQ(result, MultilineDecoder::Step::done);
        EXPECT_EQ(out, ".\n" + long_line.substr(1) + "\n");
    }
}

TEST(MultilineDecoder, LongLineWithCrAtChunkBoundary)
{
    std::string body = std::string(MultilineDecoder::kChunk + 10, 'y');
    std::string wire = body + "\r\n.\r\n";
    // Cut right after the CR so the decoder must hold it back.
    auto [out, result] = decode(wire, body.size() + 1);
    EXPECT_EQ(result, MultilineDecoder::Step::done);
    EXPECT_EQ(out, body + "\n");
}

TEST(MultilineDecoder, StopsWhenTooBig)
{
    std::string wire;
    for (int i = 0; i < 100; ++i) wire += "0123456789\r\n";
    auto [out, result] = decode(wire + ".\r\n", 64, 500);
    EXPECT_EQ(result, MultilineDecoder::Step::too_big);
}

TEST(MultilineDecoder, IncompleteBodyNeedsMore)
{
    auto [out, result] = decode("line one\r\nline two\r\n", 7);
    EXPECT_EQ(result, MultilineDecoder::Step::more);
    EXPECT_EQ(out, "line one\nline two\n");
}

}  // namespace
}  // namespace mailqd
