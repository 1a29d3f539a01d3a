// DATA wire form: CRLF-clean, dot-stuffed, CRLF.CRLF-terminated, whatever the
// stored bytes are (SMTP smuggling cannot end DATA early).
#include "spool/smtp_data.hpp"

#include "spool/message.hpp"

#include <random>

#include <gtest/gtest.h>

namespace mailqd {
namespace {

struct WireCase {
    std::string in;
    std::string out;
};

TEST(SmtpData, WireFormTable)
{
    const WireCase cases[] = {
        {"", ".\r\n"},
        {"a", "a\r\n.\r\n"},
        {"a\r\n", "a\r\n.\r\n"},
        {"a\n", "a\r\n.\r\n"},
        {"a\r", "a\r\n.\r\n"},
        {"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
        {"a\nb\rc\r\nd", "a\r\nb\r\nc\r\nd\r\n.\r\n"},
        {".", "..\r\n.\r\n"},
        {".\r\n", "..\r\n.\r\n"},
        {"..x\r\n", "...x\r\n.\r\n"},
        {"a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
        // Smuggling shapes: every one becomes an ordinary stuffed line.
        {"a\n.\nMAIL FROM:<x>\n", "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n"},
        {"a\r.\rb", "a\r\n..\r\nb\r\n.\r\n"},
        {"a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
        {"a\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"},
        {"a\r\n.\rb", "a\r\n..\r\nb\r\n.\r\n"},
        {"\r\r\n", "\r\n\r\n.\r\n"},
        {"\n\n", "\r\n\r\n.\r\n"},
        {"x.y\r\n", "x.y\r\n.\r\n"},
        {" .x", " .x\r\n.\r\n"},
        {"caf\xc3\xa9\n", "caf\xc3\xa9\r\n.\r\n"},
        {std::string("a\0b", 3), std::string("a\0b\r\n.\r\n", 8)},
    };
    for (const auto& c : cases) EXPECT_EQ(to_wire_data(c.in), c.out) << "input: " << c.in;
}

// CRLF lines go through the fast path, the rest byte by byte from the first
// line with a stray CR: the switch must keep dots and line ends right.
TEST(SmtpData, CrlfLinesThenStrayCarriageReturn)
{
    EXPECT_EQ(to_wire_data(".a\r\nb\r\n.c\rd\r\n.e\r\nf"), "..a\r\nb\r\n..c\r\nd\r\n..e\r\nf\r\n.\r\n");
    EXPECT_EQ(to_wire_data("a\r\n\r\n.\r\n"), "a\r\n\r\n..\r\n.\r\n");
    EXPECT_EQ(to_wire_data("a\r\r\n"), "a\r\n\r\n.\r\n");
}

// What mailqctl submit and sendmail send (they share this wire format).
TEST(SmtpData, SubmittedTextOfAnyLineEnding)
{
    EXPECT_EQ(to_wire_data("a\n.b\n..c\r\nd\re"), "a\r\n..b\r\n...c\r\nd\r\ne\r\n.\r\n");
    EXPECT_EQ(to_wire_data(""), ".\r\n");
    EXPECT_EQ(to_wire_data(".\n"), "..\r\n.\r\n");
}

TEST(SmtpData, LongLineKeptWhole)
{
    std::string line(990, 'x');
    line[0] = '.';
    EXPECT_EQ(to_wire_data(line + "\n"), "." + line + "\r\n.\r\n");
}

// Properties that must hold for any input: only CRLF line ends, no line is
// a lone ".", un-stuffing gives back the CRLF-normalised input.
void check_wire_invariants(const std::string& in)
{
    std::string wire = to_wire_data(in);
    ASSERT_GE(wire.size(), 3u);
    ASSERT_EQ(wire.substr(wire.size() - 3), ".\r\n");
    std::string body = wire.substr(0, wire.size() - 3);
    ASSERT_TRUE(body.empty() || body.substr(body.size() - 2) == "\r\n");
    std::string unstuffed;
    std::size_t pos = 0;
    while (pos < body.size()) {
        std::size_t end = body.find("\r\n", pos);
        ASSERT_NE(end, std::string::npos);
        std::string line = body.substr(pos, end - pos);
        ASSERT_EQ(line.find('\r'), std::string::npos);
        ASSERT_EQ(line.find('\n'), std::string::npos);
        ASSERT_NE(line, ".") << "a lone dot would end DATA early";
        if (!line.empty() && line[0] == '.') {
            ASSERT_GE(line.size(), 2u);
            ASSERT_EQ(line[1], '.');
            line.erase(0, 1);
        }
        unstuffed += line + "\r\n";
        pos = end + 2;
    }
    // Reference normalisation, written differently from the code under test.
    std::string normal;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r') {
            normal += "\r\n";
            if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
        } else if (in[i] == '\n') {
            normal += "\r\n";
        } else {
            normal += in[i];
        }
    }
    if (!normal.empty() && (normal.size() < 2 || normal.substr(normal.size() - 2) != "\r\n"))
        normal += "\r\n";
    ASSERT_EQ(unstuffed, normal);
    // The terminator occurs exactly once, at the end.
    ASSERT_EQ(("\r\n" + wire).find("\r\n.\r\n"), wire.size() - 3);
}

TEST(SmtpData, RandomInputsKeepInvariants)
{
    std::mt19937 rng(12345);
    const char alphabet[] = {'.', '\r', '\n', 'a', ' ', '\0', '\xff'};
    for (int round = 0; round < 20000; ++round) {
        std::string in(rng() % 24, 'a');
        for (char& c : in) c = alphabet[rng() % sizeof(alphabet)];
        check_wire_invariants(in);
        if (HasFatalFailure()) {
            ADD_FAILURE() << "round " << round;
            return;
        }
    }
}

TEST(SmtpData, EightBitDetection)
{
    EXPECT_FALSE(has_8bit("plain ascii\r\n"));
    EXPECT_TRUE(has_8bit("caf\xc3\xa9"));
    EXPECT_FALSE(has_8bit(""));
}

TEST(SmtpData, EnvelopeCommands)
{
    MailParameters none;
    EXPECT_EQ(mail_from_command("a@b.example", none), "MAIL FROM:<a@b.example>");
    EXPECT_EQ(mail_from_command("", none), "MAIL FROM:<>");
    MailParameters all{true, 1234, true, true, {}};
    EXPECT_EQ(mail_from_command("a@b", all), "MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME SMTPUTF8");
    EXPECT_EQ(rcpt_to_command("c@d"), "RCPT TO:<c@d>");
}

TEST(SmtpData, DsnParametersInXtext)
{
    MailParameters params;
    params.dsn = {DsnRet::hdrs, "id+1 = x"};
    EXPECT_EQ(mail_from_command("a@b", params), "MAIL FROM:<a@b> RET=HDRS ENVID=id+2B1+20+3D+20x");
    params.dsn = {DsnRet::full, ""};
    EXPECT_EQ(mail_from_command("a@b", params), "MAIL FROM:<a@b> RET=FULL");
    EXPECT_EQ(rcpt_to_command("c@d", {*parse_dsn_notify("never"), ""}), "RCPT TO:<c@d> NOTIFY=NEVER");
    EXPECT_EQ(rcpt_to_command("c@d", {*parse_dsn_notify("delay,success"), "rfc822;c+x@d"}),
              "RCPT TO:<c@d> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;c+2Bx@d");
    EXPECT_EQ(rcpt_to_command("c@d", {{}, "rfc822;c@d"}), "RCPT TO:<c@d> ORCPT=rfc822;c@d");
}

TEST(SmtpData, WireSafeAddresses)
{
    EXPECT_TRUE(wire_safe_address("a@b.example"));
    EXPECT_TRUE(wire_safe_address(""));
    EXPECT_TRUE(wire_safe_address("j\xc3\xb6rg@b.example"));
    EXPECT_FALSE(wire_safe_address("a@b>\r\nRCPT TO:<c@d"));
    EXPECT_FALSE(wire_safe_address("a b@c"));
    EXPECT_FALSE(wire_safe_address("a<b@c"));
    EXPECT_FALSE(wire_safe_address("a@b\n"));
}

}  // namespace
}  // namespace mailqd

namespace mailqd {
namespace {

// Feeds input in pieces of `step` bytes; returns the decoded text and the
// bytes consumed (the rest would be the next command).
std::pair<std::string, std::size_t> decode(std::string_view input, bool crlf_client, std::size_t step,
                                           bool* done = nullptr)
{
    DataDecoder decoder(crlf_client);
    std::string out;
    std::size_t consumed = 0;
    while (consumed < input.size() && !decoder.done()) {
        std::string_view piece = input.substr(consumed, step);
        consumed += decoder.feed(piece, &out);
    }
    if (done) *done = decoder.done();
    return {out, consumed};
}

TEST(DataDecoder, CrlfClientTable)
{
    struct Case {
        std::string in, out, rest;
    };
    const Case cases[] = {
        {".\r\n", "", ""},
        {"a\r\n.\r\nQUIT\r\n", "a\r\n", "QUIT\r\n"},
        {"..x\r\n.\r\n", ".x\r\n", ""},
        {"...\r\n.\r\n", "..\r\n", ""},
        // Smuggling: a bare LF before or after the dot does not end the data.
        {"a\n.\nMAIL FROM:<x@y>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@y>\r\n", ""},
        {"a\r\n.\nRCPT TO:<x@y>\r\n.\r\n", "a\r\n.\r\nRCPT TO:<x@y>\r\n", ""},
        {"a\n.\r\nDATA\r\n.\r\n", "a\r\n.\r\nDATA\r\n", ""},
        {"a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", ""},
        // Lone LF and CR inside lines become CRLF.
        {"x\ry\nz\r\n.\r\n", "x\r\ny\r\nz\r\n", ""},
    };
    for (const auto& c : cases)
        for (std::size_t step : {1u, 2u, 3u, 7u, 1000u}) {
            bool done = false;
            auto [out, consumed] = decode(c.in, true, step, &done);
            EXPECT_TRUE(done) << c.in;
            EXPECT_EQ(out, c.out) << c.in << " step " << step;
            EXPECT_EQ(std::string(c.in.substr(consumed)), c.rest) << c.in << " step " << step;
        }
}

TEST(DataDecoder, LfClientMayEndWithLfDotLf)
{
    bool done = false;
    auto [out, consumed] = decode("a\n..b\n.\nQUIT\n", false, 1, &done);
    EXPECT_TRUE(done);
    EXPECT_EQ(out, "a\r\n.b\r\n");
    EXPECT_EQ(consumed, std::string_view("a\n..b\n.\n").size());
    // CRLF.CRLF ends it too; a bare CR never does.
    EXPECT_EQ(decode("a\r\n.\r\n", false, 1).first, "a\r\n");
    EXPECT_EQ(decode("a\r.\r\n.\n", false, 1).first, "a\r\n.\r\n");
}

TEST(DataDecoder, UnfinishedDataIsNotDone)
{
    DataDecoder decoder(true);
    std::string out;
    EXPECT_EQ(decoder.feed("a\r\n.", &out), 4u);
    EXPECT_FALSE(decoder.done());
    EXPECT_EQ(decoder.feed("\r", &out), 1u);
    EXPECT_FALSE(decoder.done());
    EXPECT_EQ(decoder.feed("\nNOOP\r\n", &out), 1u);
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(out, "a\r\n");
}

TEST(DataDecoder, DroppedTextStillFindsTheEnd)
{
    DataDecoder decoder(true);
    const std::string big(100000, 'x');
    EXPECT_EQ(decoder.feed(big, nullptr), big.size());
    EXPECT_EQ(decoder.feed("\r\n.\r\nQUIT\r\n", nullptr), 5u);
    EXPECT_TRUE(decoder.done());
}

TEST(DataDecoder, HeaderLinesAreCappedBodyLinesAreNot)
{
    const std::string ok_header = "Subject: " + std::string(DataDecoder::max_header_line - 9, 's') + "\r\n";
    const std::string long_body = std::string(5000, 'b') + "\r\n";
    DataDecoder fine(true);
    std::string out;
    fine.feed(ok_header + "\r\n" + long_body + ".\r\n", &out);
    EXPECT_TRUE(fine.done());
    EXPECT_FALSE(fine.header_line_too_long());

    DataDecoder bad(true);
    bad.feed("Subject: " + std::string(DataDecoder::max_header_line, 's') + "\r\n\r\nbody\r\n.\r\n", &out);
    EXPECT_TRUE(bad.done());
    EXPECT_TRUE(bad.header_line_too_long());
}

TEST(DataDecoder, RandomInputsRoundTripThroughTheWireForm)
{
    // Whatever a stored message holds, its wire form decodes to the same
    // text with CRLF line ends, and the decoder stops right after the
    // final ".".
    std::mt19937 random(7);
    const char alphabet[] = {'a', '.', '\r', '\n', ' '};
    for (int round = 0; round < 2000; ++round) {
        std::string message;
        const int length = static_cast<int>(random() % 40);
        for (int i = 0; i < length; ++i) message += alphabet[random() % sizeof alphabet];
        const std::string wire = to_wire_data(message) + "QUIT\r\n";
        bool done = false;
        auto [out, consumed] = decode(wire, true, 1 + random() % 5, &done);
        ASSERT_TRUE(done) << message;
        EXPECT_EQ(std::string_view(wire).substr(consumed), "QUIT\r\n") << message;
        EXPECT_EQ(out, normalize_crlf(message)) << message;
    }
}

}  // namespace
}  // namespace mailqd
