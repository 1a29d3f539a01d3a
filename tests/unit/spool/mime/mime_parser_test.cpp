// MIME reading: encoded words (RFC 2047 section 8 examples), parameters
// (RFC 2231 examples), charsets, nested multiparts, and malformed input
// that must decode as far as it goes without crashing.
#include <gtest/gtest.h>

#include <string>

#include "spool/mime/mime_charset.hpp"
#include "spool/mime/mime_parser.hpp"

namespace mailqd {
namespace {

struct WordCase {
    const char* in;
    const char* out;
};

TEST(MimeHeaderDecode, Rfc2047Examples)
{
    // RFC 2047 section 8: whitespace between adjacent words is dropped,
    // kept between a word and text.
    const WordCase cases[] = {
        {"(=?ISO-8859-1?Q?a?=)", "(a)"},
        {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
        {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
        {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
        {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
        {"=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"},
        {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xC3\xA9 Pirard"},
        {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= "
         "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
         "If you can read this you understand the example."},
        {"=?utf-8?b?5Lit5paH?=", "\xE4\xB8\xAD\xE6\x96\x87"},
        {"=?UTF-8*en?Q?Hi?=", "Hi"},                     // RFC 2231 language suffix
        {"=?utf-8?B?5Lit5paH?", "=?utf-8?B?5Lit5paH?"},  // unterminated: left alone
        {"plain text", "plain text"},
        {"=?utf-8?B?5Lit5p?=", "\xE4\xB8\xAD\xEF\xBF\xBD"},  // unpadded, cut character
    };
    for (const auto& c : cases) EXPECT_EQ(decode_header_text(c.in), c.out) << c.in;
}

TEST(MimeHeaderDecode, CharacterSplitAcrossWordsIsJoined)
{
    // "中文" in UTF-8 is E4 B8 AD E6 96 87; split after the fourth byte.
    EXPECT_EQ(decode_header_text("=?UTF-8?Q?=E4=B8=AD=E6?= =?UTF-8?Q?=96=87?="), "\xE4\xB8\xAD\xE6\x96\x87");
}

TEST(MimeHeaderDecode, NationalCharsets)
{
    // "中文" in GB2312 is D6 D0 CE C4.
    EXPECT_EQ(decode_header_text("=?GB2312?B?1tDOxA==?="), "\xE4\xB8\xAD\xE6\x96\x87");
    // GBK-only character 镕 (E9 95 95): GBK 0xE946.
    EXPECT_EQ(decode_header_text("=?gbk?Q?=E9F?="), "\xE9\x95\x95");
    EXPECT_EQ(decode_header_text("=?ISO-8859-1?Q?Caf=E9?="), "Caf\xC3\xA9");
    // "日本" in Shift_JIS is 93 FA 96 7B.
    EXPECT_EQ(decode_header_text("=?Shift_JIS?B?k/qWew==?="), "\xE6\x97\xA5\xE6\x9C\xAC");
    // An unknown charset: UTF-8 when it is valid, else Windows-1252.
    EXPECT_EQ(decode_header_text("=?x-unknown?Q?=C3=A9?="), "\xC3\xA9");
    EXPECT_EQ(decode_header_text("=?x-unknown?Q?=E9?="), "\xC3\xA9");
    // Raw 8-bit header text.
    EXPECT_EQ(decode_header_text("Caf\xE9"), "Caf\xC3\xA9");
}

TEST(MimeCharset, InvalidBytesBecomeReplacementCharacters)
{
    EXPECT_EQ(to_utf8("a\xFF"
                      "b",
                      "utf-8"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(to_utf8("\xD6", "gb2312"), "\xEF\xBF\xBD");
    EXPECT_TRUE(charset_known("Shift_JIS"));
    EXPECT_FALSE(charset_known("no-such-charset"));
}

TEST(MimeParams, Rfc2231Examples)
{
    MimeParams a = parse_mime_params(
        "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n "
        "URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
    EXPECT_EQ(a.value, "message/external-body");
    EXPECT_EQ(a.param("url"), "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
    MimeParams b =
        parse_mime_params("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
    EXPECT_EQ(b.param("title"), "This is ***fun***");
    MimeParams c = parse_mime_params(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
        "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
    EXPECT_EQ(c.param("title"), "This is even more ***fun*** isn't it!");
}

TEST(MimeParams, CharsetsQuotingAndFallbacks)
{
    MimeParams p =
        parse_mime_params("attachment; filename*=UTF-8''%E4%B8%AD%E6%96%87.txt; filename=\"old.txt\"");
    EXPECT_EQ(p.value, "attachment");
    EXPECT_EQ(p.param("filename"), "\xE4\xB8\xAD\xE6\x96\x87.txt");
    MimeParams q = parse_mime_params("text/plain; name=\"=?UTF-8?B?5Lit5paH?=.txt\"; charset=\"a;b\"");
    EXPECT_EQ(q.param("name"), "\xE4\xB8\xAD\xE6\x96\x87.txt");
    EXPECT_EQ(q.param("charset"), "a;b");
    MimeParams g = parse_mime_params("attachment; filename*=gb2312''%D6%D0%CE%C4");
    EXPECT_EQ(g.param("filename"), "\xE4\xB8\xAD\xE6\x96\x87");
    MimeParams bad = parse_mime_params("attachment; =x; a*99999=1; b*x=2; filename=\"unterminated");
    EXPECT_EQ(bad.param("filename"), "unterminated");
    EXPECT_TRUE(bad.param("a").empty());
}

const char* nested =
    "From: =?UTF-8?B?5byg5LiJ?= <z@example.com>\n"
    "Subject: =?GB2312?B?1tDOxA==?=\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=E9 =\n"
    "au lait\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>Caf\xC3\xA9</p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: application/octet-stream\n"
    "Content-Disposition: attachment; filename*=UTF-8''%E4%B8%AD.bin\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAEC/w==\n"
    "--outer--\n"
    "epilogue\n";

TEST(MimeParser, NestedMultipart)
{
    MimeMessage m = parse_mime(nested);
    EXPECT_TRUE(m.problems.empty()) << m.problems.front();
    ASSERT_EQ(m.root.children.size(), 2u);
    ASSERT_EQ(m.root.children[0].children.size(), 2u);
    const MimePart* plain = find_text_part(m.root, "text/plain");
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->text(), "Caf\xC3\xA9 au lait");
    const MimePart* html = find_text_part(m.root, "text/html");
    ASSERT_NE(html, nullptr);
    EXPECT_EQ(html_to_text(html->text()), "Caf\xC3\xA9\n");
    auto files = mime_attachments(m.root);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0]->filename, "\xE4\xB8\xAD.bin");
    EXPECT_EQ(files[0]->body, std::string("\x00\x01\x02\xFF", 4));
    EXPECT_EQ(decode_header_text(m.root.field("subject")->value), "\xE4\xB8\xAD\xE6\x96\x87");
    EXPECT_EQ(decode_header_text(m.root.field("from")->value), "\xE5\xBC\xA0\xE4\xB8\x89 <z@example.com>");
}

TEST(MimeParser, CrlfAndFoldedHeaders)
{
    MimeMessage m = parse_mime(
        "Subject: =?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=\r\nContent-Type: "
        "text/plain;\r\n\tcharset=utf-8\r\n\r\nline1\r\nline2\r\n");
    EXPECT_EQ(decode_header_text(m.root.field("Subject")->value), "ab");
    EXPECT_EQ(m.root.charset, "utf-8");
    EXPECT_EQ(m.root.text(), "line1\nline2\n");
}

TEST(MimeParser, MalformedInputDecodesWithoutCrashing)
{
    // Unterminated boundary: the last part runs to the end.
    MimeMessage u = parse_mime("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond\n");
    ASSERT_EQ(u.root.children.size(), 2u);
    EXPECT_EQ(u.root.children[1].body, "second\n");
    EXPECT_FALSE(u.problems.empty());
    // Bad base64: what decodes is kept.
    MimeMessage b =
        parse_mime("Content-Type: application/x\nContent-Transfer-Encoding: base64\n\nAAEC*!/w==\n");
    EXPECT_EQ(b.root.body, std::string("\x00\x01\x02\xFF", 4));
    EXPECT_FALSE(b.problems.empty());
    // Missing charset on 8-bit text: UTF-8 if valid, else Windows-1252.
    EXPECT_EQ(parse_mime("\nCaf\xC3\xA9").root.text(), "Caf\xC3\xA9");
    EXPECT_EQ(parse_mime("\nCaf\xE9").root.text(), "Caf\xC3\xA9");
    // Wrong charset name.
    EXPECT_EQ(parse_mime("Content-Type: text/plain; charset=bogus\n\nCaf\xE9").root.text(), "Caf\xC3\xA9");
    // Bad quoted-printable keeps the stray "=".
    MimeMessage q = parse_mime("Content-Transfer-Encoding: quoted-printable\n\na=zz=41\n");
    EXPECT_EQ(q.root.body, "a=zzA\r\n");
    // Multipart without a boundary, empty input, header only, garbage.
    EXPECT_TRUE(parse_mime("Content-Type: multipart/mixed\n\nx").root.children.empty());
    EXPECT_TRUE(parse_mime("").root.body.empty());
    EXPECT_EQ(parse_mime("Subject: x").root.headers.size(), 1u);
    EXPECT_EQ(parse_mime("From a@b Mon Nov 23 08:00:00 2026\nSubject: x\n\n").root.headers.size(), 1u);
    parse_mime(std::string("\0\xFF:\n\n--\n", 8));
}

TEST(MimeParser, DepthAndPartLimits)
{
    std::string deep;
    for (int i = 0; i < 50; ++i)
        deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
                std::to_string(i) + "\n";
    MimeMessage d = parse_mime(deep);
    std::size_t depth = 0;
    for (const MimePart* p = &d.root; !p->children.empty(); p = &p->children.front()) ++depth;
    EXPECT_EQ(depth, mime_max_depth);
    EXPECT_FALSE(d.problems.empty());

    std::string many = "Content-Type: multipart/mixed; boundary=b\n\n";
    for (int i = 0; i < 3000; ++i) many += "--b\n\nx\n";
    MimeMessage m = parse_mime(many);
    EXPECT_LE(m.root.children.size(), mime_max_parts);
    EXPECT_FALSE(m.problems.empty());
}

TEST(MimeParser, HostileInputStaysFast)
{
    // Quadratic scans would take minutes here; bounded ones take milliseconds.
    std::string words;
    for (int i = 0; i < 200000; ++i) words += "=?x?Q?a ";
    words += "?=";
    EXPECT_FALSE(decode_header_text(words).empty());
    std::string scripts;
    for (int i = 0; i < 100000; ++i) scripts += "<SCRIPT>x</SCRIPT>y";
    EXPECT_EQ(html_to_text(scripts), std::string(100000, 'y') + "\n");
}

TEST(HtmlText, BlocksEntitiesAndScripts)
{
    EXPECT_EQ(html_to_text("<html><head><title>t</title><style>p{}</style></head><body>"
                           "<p>Hello&nbsp;&amp; <b>bye</b></p><script>x<y</script>"
                           "<ul><li>one<li>two</ul>a<br>b &#20013;&#x6587; &bogus;</body>"),
              "Hello\xC2\xA0& bye\n\n- one\n- two\na\nb \xE4\xB8\xAD\xE6\x96\x87 &bogus;\n");
    EXPECT_EQ(html_to_text("<p>unclosed <a href="), "unclosed\n");
    EXPECT_EQ(html_to_text(""), "");
}

}  // namespace
}  // namespace mailqd
