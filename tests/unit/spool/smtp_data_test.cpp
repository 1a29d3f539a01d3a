// DATA wire form: CRLF-clean, dot-stuffed, CRLF.CRLF-terminated, whatever the
// stored bytes are (SMTP smuggling cannot end DATA early).
#include "spool/smtp_data.hpp"

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
    MailParameters all{true, 1234, true, true};
    EXPECT_EQ(mail_from_command("a@b", all), "MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME SMTPUTF8");
    EXPECT_EQ(rcpt_to_command("c@d"), "RCPT TO:<c@d>");
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
