// The one sanitizer: which bytes it replaces, with what, and where it cuts.
#include "spool/text_sanitize.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

TEST(TextSanitize, PrintableReplacesControlsWithQuestionMarks)
{
    EXPECT_EQ(printable("ok\x1b[31m red\r\nFAKE: line\x7f"), "ok?[31m red??FAKE: line?");
    EXPECT_EQ(printable(std::string("a\0b", 3)), "a?b");
    EXPECT_EQ(printable("tab\there"), "tab?here");
}

TEST(TextSanitize, Utf8KeptButItsC1ControlsReplaced)
{
    EXPECT_EQ(printable("M\xc3\xbcller \xe2\x82\xac"), "M\xc3\xbcller \xe2\x82\xac");
    // U+009B is CSI, a terminal escape on its own: one '?' for its two bytes.
    EXPECT_EQ(printable("x\xc2\x9b"
                        "31my"),
              "x?31my");
    EXPECT_EQ(printable("\xc2\xa0"), "\xc2\xa0");  // NBSP is not a control
    EXPECT_EQ(printable("\xff\xfe"), "\xff\xfe");  // 8-bit bytes are kept
}

TEST(TextSanitize, OneLineUsesSpaces) { EXPECT_EQ(one_line("550 no\r\nsuch\tuser"), "550 no  such user"); }

TEST(TextSanitize, CutAtTheCapWithAnEllipsis)
{
    EXPECT_EQ(printable(std::string(300, 'a'), 10), "aaaaaaaaaa...");
    EXPECT_EQ(printable("short", 10), "short");
    EXPECT_EQ(one_line("abcdef", 3), "abc...");
    // Never half a UTF-8 character before the "...".
    EXPECT_EQ(printable("ab\xc3\xbc"
                        "cd",
                        3),
              "ab...");
}

TEST(TextSanitize, IsPrintable)
{
    EXPECT_TRUE(is_printable("M\xc3\xbcller <a@b>"));
    EXPECT_FALSE(is_printable("a\nb"));
    EXPECT_FALSE(is_printable("a\xc2\x85"));
}

}  // namespace
}  // namespace mailqd
