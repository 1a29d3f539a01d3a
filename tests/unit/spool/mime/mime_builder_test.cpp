// The MIME builder: structure chosen from the draft, headers encoded and
// folded, Bcc only in the envelope, injection refused, boundaries safe.
#include "spool/mime/mime_builder.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "spool/message.hpp"

namespace mailqd {
namespace {

MimeDraft draft()
{
    MimeDraft d;
    d.from = "App <app@example.com>";
    d.to = {"b@example.org"};
    d.subject = "Hello";
    d.hostname = "mail.example.com";
    d.now = TimePoint(std::chrono::seconds(1795420800));
    d.seed = 42;
    return d;
}

std::string header_of(const std::string& data) { return data.substr(0, data.find("\r\n\r\n") + 2); }

std::vector<std::string> content_types(const std::string& data)
{
    std::vector<std::string> out;
    std::regex re("Content-Type: ([a-z]+/[a-z]+)");
    for (std::sregex_iterator it(data.begin(), data.end(), re), end; it != end; ++it) out.push_back((*it)[1]);
    return out;
}

void expect_lines_within(const std::string& data, std::size_t limit)
{
    std::size_t pos = 0;
    while (pos < data.size()) {
        auto eol = data.find("\r\n", pos);
        ASSERT_NE(eol, std::string::npos) << "unterminated last line";
        EXPECT_LE(eol - pos, limit) << data.substr(pos, eol - pos);
        EXPECT_EQ(data.substr(pos, eol - pos).find_first_of("\r\n"), std::string::npos) << "bare CR/LF";
        pos = eol + 2;
    }
}

TEST(MimeBuilder, TextOnly)
{
    MimeDraft d = draft();
    d.text = "Hi there\n";
    auto m = compose_message(d);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->sender, "app@example.com");
    EXPECT_EQ(m->recipients, std::vector<std::string>{"b@example.org"});
    std::regex shape(
        "Date: Mon, 23 Nov 2026 08:00:00 \\+0000\r\n"
        "From: App <app@example.com>\r\n"
        "To: b@example.org\r\n"
        "Subject: Hello\r\n"
        "Message-ID: <20261123080000\\.[0-9A-F]{16}@mail\\.example\\.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi there\r\n");
    EXPECT_TRUE(std::regex_match(m->data, shape)) << m->data;
}

TEST(MimeBuilder, StructureFollowsTheDraft)
{
    using V = std::vector<std::string>;
    MimeFile image{"logo.png", "\x89PNG\r\n\x1a\n", ""};
    MimeFile pdf{"report.pdf", "%PDF-1.4", ""};
    struct Case {
        bool text, html, inline_image, attachment;
        V types;
    };
    const Case cases[] = {
        {true, false, false, false, {"text/plain"}},
        {false, true, false, false, {"text/html"}},
        {true, true, false, false, {"multipart/alternative", "text/plain", "text/html"}},
        {false, true, true, false, {"multipart/related", "text/html", "image/png"}},
        {true,
         true,
         true,
         false,
         {"multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"}},
        {true, false, false, true, {"multipart/mixed", "text/plain", "application/pdf"}},
        {false, false, false, true, {"multipart/mixed", "application/pdf"}},
        {false, false, false, false, {"text/plain"}},
        {true,
         true,
         true,
         true,
         {"multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html",
          "image/png", "application/pdf"}},
    };
    for (const auto& c : cases) {
        MimeDraft d = draft();
        if (c.text) d.text = "text";
        if (c.html) d.html = "<p><img src=\"cid:logo.png\"></p>";
        if (c.inline_image) d.inline_images = {image};
        if (c.attachment) d.attachments = {pdf};
        auto m = compose_message(d);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(content_types(m->data), c.types) << m->data;
        expect_lines_within(m->data, 78);
    }
}

TEST(MimeBuilder, InlineAndAttachmentHeaders)
{
    MimeDraft d = draft();
    d.html = "<img src=\"cid:logo.png\">";
    d.inline_images = {{"logo.png", std::string(100, '\xAB'), ""}};
    d.attachments = {{"\xE4\xB8\xAD\xE6\x96\x87.txt", "hello", ""}};
    auto m = compose_message(d);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_NE(m->data.find("multipart/related; type=\"text/html\";"), std::string::npos) << m->data;
    EXPECT_NE(m->data.find("Content-ID: <logo.png>\r\n"), std::string::npos);
    EXPECT_NE(m->data.find("Content-Disposition: inline; filename=\"logo.png\"\r\n"), std::string::npos);
    EXPECT_NE(m->data.find("Content-Disposition: attachment; filename*=UTF-8''%E4%B8%AD%E6%96%87.txt\r\n"),
              std::string::npos)
        << m->data;
    EXPECT_NE(
        m->data.find("Content-Type: text/plain; charset=utf-8; name*=UTF-8''%E4%B8%AD%E6%96%87.txt\r\n"),
        std::string::npos);
}

TEST(MimeBuilder, EncodedHeadersAndBccOnlyInEnvelope)
{
    MimeDraft d = draft();
    d.from = "J\xC3\xBCrgen M\xC3\xBCller <j@example.com>";
    d.to = {"\"Doe, John\" <john@example.org>, \xE5\xBC\xA0\xE4\xB8\x89 <zhang@example.cn>"};
    d.cc = {"c@example.net", "JOHN@EXAMPLE.ORG"};
    d.bcc = {"secret@example.net"};
    d.subject =
        "Gr\xC3\xBC\xC3\x9F"
        "e \xE2\x80\x94 a subject long enough to need folding across lines, "
        "with more words";
    d.text = "x";
    auto m = compose_message(d);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->recipients,
              (std::vector<std::string>{"john@example.org", "zhang@example.cn", "c@example.net",
                                        "JOHN@EXAMPLE.ORG", "secret@example.net"}));
    std::string h = header_of(m->data);
    EXPECT_EQ(h.find("secret"), std::string::npos);
    EXPECT_EQ(h.find("Bcc"), std::string::npos);
    EXPECT_NE(h.find("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <j@example.com>\r\n"), std::string::npos)
        << h;
    EXPECT_NE(h.find("To: \"Doe, John\" <john@example.org>, =?UTF-8?B?5byg5LiJ?= <zhang@example.cn>\r\n"),
              std::string::npos)
        << h;
    expect_lines_within(m->data, 78);
    for (char c : h) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "raw 8-bit in the header";
    // The header parses back, and its envelope matches, minus Bcc.
    auto parsed = parse_headers(m->data);
    ASSERT_TRUE(parsed) << parsed.error().message;
    auto envelope = envelope_from_headers(*parsed);
    ASSERT_TRUE(envelope) << envelope.error().message;
    EXPECT_EQ(envelope->recipients.size(), 4u);  // JOHN@ differs from john@ in its local part
}

TEST(MimeBuilder, OnlyBccGetsUndisclosedTo)
{
    MimeDraft d = draft();
    d.to.clear();
    d.bcc = {"hidden@example.org"};
    auto m = compose_message(d);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_NE(m->data.find("To: undisclosed-recipients:;\r\n"), std::string::npos);
    EXPECT_EQ(m->recipients, std::vector<std::string>{"hidden@example.org"});
}

TEST(MimeBuilder, RefusesBadInput)
{
    struct Case {
        void (*edit)(MimeDraft&);
        ErrorKind kind;
        std::string error;
    };
    const Case cases[] = {
        {[](MimeDraft& d) { d.subject = "x\r\nBcc: evil@example.com"; }, ErrorKind::bad_message,
         "Subject contains a line break (CR or LF)"},
        {[](MimeDraft& d) { d.subject = "x\nBcc: evil@example.com"; }, ErrorKind::bad_message,
         "Subject contains a line break (CR or LF)"},
        {[](MimeDraft& d) { d.to = {"a@example.com\r\nBcc: evil@example.com"}; }, ErrorKind::bad_message,
         "To contains a line break (CR or LF)"},
        {[](MimeDraft& d) { d.from = "Evil\r\n <a@example.com>"; }, ErrorKind::bad_message,
         "From contains a line break (CR or LF)"},
        {[](MimeDraft& d) {
             d.headers = {{"X-Tag", "a\rb"}};
         },
         ErrorKind::bad_message, "X-Tag contains a line break (CR or LF)"},
        {[](MimeDraft& d) {
             d.attachments = {{"a\nb.txt", "x", ""}};
         },
         ErrorKind::bad_message, "file name 'a\nb.txt' contains a line break (CR or LF)"},
        {[](MimeDraft& d) { d.subject = "bell\a"; }, ErrorKind::bad_message,
         "Subject contains a control character"},
        {[](MimeDraft& d) { d.subject = "\xFF"; }, ErrorKind::bad_message, "Subject is not valid UTF-8"},
        {[](MimeDraft& d) { d.text = "\xC3"; }, ErrorKind::bad_message, "the text is not valid UTF-8"},
        {[](MimeDraft& d) { d.to = {"not an address"}; }, ErrorKind::bad_message,
         "To: cannot parse 'not an address': invalid local part near offset 4"},
        {[](MimeDraft& d) { d.from = "a@example.com, b@example.com"; }, ErrorKind::bad_message,
         "From: must be exactly one address"},
        {[](MimeDraft& d) { d.to.clear(); }, ErrorKind::usage, "no recipients (To, Cc or Bcc)"},
        {[](MimeDraft& d) {
             d.inline_images = {{"a.png", "x", ""}};
         },
         ErrorKind::usage, "inline images need an HTML part to refer to them"},
        {[](MimeDraft& d) {
             d.headers = {{"Content-Type", "text/evil"}};
         },
         ErrorKind::usage, "Content-Type: is written by mailqctl send itself; use its option"},
        {[](MimeDraft& d) {
             d.headers = {{"bcc", "x@example.com"}};
         },
         ErrorKind::usage, "bcc: is written by mailqctl send itself; use its option"},
        {[](MimeDraft& d) {
             d.headers = {{"Bad Name", "x"}};
         },
         ErrorKind::usage, "'Bad Name' is not a header field name"},
    };
    for (const auto& c : cases) {
        MimeDraft d = draft();
        c.edit(d);
        auto m = compose_message(d);
        ASSERT_FALSE(m) << c.error;
        EXPECT_EQ(m.error().kind, c.kind) << c.error;
        EXPECT_EQ(m.error().message, c.error);
    }
}

TEST(MimeBuilder, ExtraHeaders)
{
    MimeDraft d = draft();
    d.headers = {{"Reply-To", "Caf\xC3\xA9 Owner <owner@example.com>"},
                 {"X-Priority", "1"},
                 {"X-Note", "\xC3\xA9t\xC3\xA9"}};
    auto m = compose_message(d);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_NE(
        m->data.find("MIME-Version: 1.0\r\nReply-To: =?UTF-8?Q?Caf=C3=A9_Owner?= <owner@example.com>\r\n"
                     "X-Priority: 1\r\nX-Note: =?UTF-8?B?w6l0w6k=?=\r\n"),
        std::string::npos)
        << m->data;
}

TEST(MimeBuilder, BoundariesAvoidContentAndFollowTheSeed)
{
    MimeDraft d = draft();
    d.text = "text";
    d.attachments = {{"a.bin", "data", ""}};
    auto first = compose_message(d);
    ASSERT_TRUE(first);
    std::smatch match;
    std::string data = first->data;
    ASSERT_TRUE(std::regex_search(data, match, std::regex("boundary=\"([^\"]+)\"")));
    std::string boundary = match[1];
    // A text that contains the boundary the seed would give forces another.
    d.text = "--" + boundary + "\r\n";
    auto second = compose_message(d);
    ASSERT_TRUE(second);
    std::string data2 = second->data;
    ASSERT_TRUE(std::regex_search(data2, match, std::regex("boundary=\"([^\"]+)\"")));
    EXPECT_NE(match[1].str(), boundary);
    EXPECT_EQ(data2.find("--" + match[1].str(), data2.find("\r\n\r\n")),
              data2.find("\r\n\r\n") + 4);  // first use is the first delimiter
}

TEST(ContentTypes, Table)
{
    const std::pair<std::string, std::string> cases[] = {
        {"a.pdf", "application/pdf"},
        {"A.PDF", "application/pdf"},
        {"photo.JPG", "image/jpeg"},
        {"x.png", "image/png"},
        {"notes.txt", "text/plain"},
        {"data.csv", "text/csv"},
        {"arch.tar.gz", "application/gzip"},
        {"sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"noext", "application/octet-stream"},
        {"trailing.", "application/octet-stream"},
        {"weird.xyz123", "application/octet-stream"},
    };
    for (const auto& [name, type] : cases) EXPECT_EQ(content_type_for(name), type) << name;
}

TEST(ContentId, FileNameOrPercentEncoded)
{
    EXPECT_EQ(content_id_for("logo.png"), "logo.png");
    EXPECT_EQ(content_id_for("my logo.png"), "my%20logo.png");
    EXPECT_EQ(content_id_for("\xE5\x9B\xBE.png"), "%E5%9B%BE.png");
    EXPECT_EQ(content_id_for("a<b>%.png"), "a%3Cb%3E%25.png");
}

}  // namespace
}  // namespace mailqd
