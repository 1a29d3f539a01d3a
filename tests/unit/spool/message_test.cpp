// Line endings, header parsing, the envelope from headers, and what
// prepare_for_queue adds and removes.
#include "spool/message.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace mailqd {
namespace {

TimePoint at(std::int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

TEST(NormalizeCrlf, AllLineEndingsBecomeCrlf)
{
    struct Case {
        std::string in, out;
    };
    const Case cases[] = {
        {"", ""},
        {"a", "a\r\n"},
        {"a\n", "a\r\n"},
        {"a\r\n", "a\r\n"},
        {"a\r", "a\r\n"},
        {"a\nb\rc\r\nd", "a\r\nb\r\nc\r\nd\r\n"},
        {"\n\n", "\r\n\r\n"},
        {"\r\r\n", "\r\n\r\n"},
        {"x\n\r", "x\r\n\r\n"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(normalize_crlf(c.in), c.out) << c.in;
        // prepare_for_queue skips the copy exactly when it would change nothing.
        EXPECT_EQ(is_crlf_normal(c.in), c.in == c.out) << c.in;
        EXPECT_TRUE(is_crlf_normal(c.out)) << c.in;
    }
    EXPECT_FALSE(is_crlf_normal("a\r\nb"));
    EXPECT_FALSE(is_crlf_normal("a\r\r\n"));
    EXPECT_TRUE(is_crlf_normal("a\r\n\r\nb\r\n"));
}

TEST(ParseHeaders, FieldsRangesAndBody)
{
    std::string m = "From: a@example.com\r\nSubject: hello\r\n  world\r\nX-Empty:\r\n\r\nbody\r\n";
    auto h = parse_headers(m);
    ASSERT_TRUE(h) << h.error().message;
    ASSERT_EQ(h->fields.size(), 3u);
    EXPECT_EQ(h->fields[0].name, "From");
    EXPECT_EQ(h->fields[0].value, "a@example.com");
    EXPECT_EQ(h->fields[1].value, "hello  world");  // CRLF removed, WSP kept
    EXPECT_EQ(m.substr(h->fields[1].begin, h->fields[1].end - h->fields[1].begin),
              "Subject: hello\r\n  world\r\n");
    EXPECT_EQ(h->fields[2].value, "");
    EXPECT_EQ(m.substr(h->body_offset), "body\r\n");
    ASSERT_NE(h->find("subject"), nullptr);
    EXPECT_EQ(h->find("SUBJECT")->name, "Subject");
    EXPECT_EQ(h->find("To"), nullptr);
}

TEST(ParseHeaders, AcceptedShapes)
{
    struct Case {
        std::string message;
        std::size_t fields;
        std::string first_value;
    };
    const Case cases[] = {
        {"", 0, ""},
        {"\r\nbody only after an empty header\r\n", 0, ""},
        {"To: a@b\r\n", 1, "a@b"},                           // header only, no blank line
        {"To: a@b", 1, "a@b"},                               // no final CRLF
        {"To:a@b\r\n\r\n", 1, "a@b"},                        // no space after the colon
        {"To  : a@b\r\n\r\n", 1, "a@b"},                     // obsolete space before colon
        {"To: a@b  \r\n\r\n", 1, "a@b"},                     // trailing space trimmed
        {"To:\r\n\ta@b\r\n\r\n", 1, "a@b"},                  // value only on the fold
        {"Subject: caf\xC3\xA9\r\n\r\n", 1, "caf\xC3\xA9"},  // UTF-8 (RFC 6532)
        {"X-A: 1\r\nX-B: 2\r\nX-C: 3\r\n\r\n", 3, "1"},
    };
    for (const auto& c : cases) {
        auto h = parse_headers(c.message);
        ASSERT_TRUE(h) << c.message << ": " << h.error().message;
        EXPECT_EQ(h->fields.size(), c.fields) << c.message;
        if (c.fields > 0) {
            EXPECT_EQ(h->fields[0].value, c.first_value) << c.message;
        }
    }
}

TEST(ParseHeaders, Errors)
{
    struct Case {
        std::string message, error;
    };
    const Case cases[] = {
        {"This is a body\r\n", "line 1 of the header is not a field"},
        {"To: a@b\r\nFrom: c@d\r\nnot a field\r\n\r\n", "line 3 of the header is not a field"},
        {": empty name\r\n", "line 1 of the header is not a field"},
        {"Bad Name: x\r\n", "line 1 of the header is not a field"},
        {" continued\r\n", "line 1 of the header is a continuation line with no field before it"},
        {"To: a@b\nCc: c@d\r\n", "line 1 of the header contains a bare CR, LF or NUL"},
        {std::string("To: a\0b\r\n", 9), "line 1 of the header contains a bare CR, LF or NUL"},
        {"X: " + std::string(996, 'x') + "\r\n", "line 1 of the header is longer than 998 octets"},
    };
    for (const auto& c : cases) {
        auto h = parse_headers(c.message);
        ASSERT_FALSE(h) << c.message;
        EXPECT_EQ(h.error().kind, ErrorKind::bad_message);
        EXPECT_EQ(h.error().message, c.error);
    }
}

TEST(ParseHeaders, Limits)
{
    EXPECT_TRUE(parse_headers("X: " + std::string(995, 'x') + "\r\n\r\n"));  // 998 exactly
    std::string many;
    for (int i = 0; i < 1000; ++i) many += "X: " + std::to_string(i) + "\r\n";
    EXPECT_TRUE(parse_headers(many + "\r\n"));
    auto h = parse_headers(many + "X: one too many\r\n\r\n");
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().message, "the header has more than 1000 fields");
    // A long body line is not the header's business.
    EXPECT_TRUE(parse_headers("X: 1\r\n\r\n" + std::string(5000, 'b') + "\r\n"));
}

HeaderBlock headers_of(const std::string& message)
{
    auto h = parse_headers(message);
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : HeaderBlock{};
}

TEST(EnvelopeFromHeaders, Rules)
{
    struct Case {
        std::string header;
        std::string sender;
        std::vector<std::string> recipients;
    };
    const Case cases[] = {
        {"From: a@x\r\nTo: b@y\r\n", "a@x", {"b@y"}},
        {"From: A <a@x>, c@x\r\nSender: s@x\r\nTo: b@y\r\n", "s@x", {"b@y"}},
        {"To: b@y\r\nCc: c@y, d@y\r\nBcc: e@y\r\nFrom: a@x\r\n", "a@x", {"b@y", "c@y", "d@y", "e@y"}},
        {"Bcc: e@y\r\nTo: b@y\r\n", "", {"e@y", "b@y"}},  // field order; no From
        {"To: b@y, B@Y, b@Y\r\nCc: B@y\r\nFrom: a@x\r\n", "a@x", {"b@y", "B@Y"}},
        {"To: undisclosed-recipients:;\r\nBcc: b@y\r\nFrom: a@x\r\n", "a@x", {"b@y"}},
        {"from: a@x\r\nTO: b@y\r\nbcc: c@y\r\n", "a@x", {"b@y", "c@y"}},
        {"From: A <a@x>\r\nTo: Group: b@y, \"C, D\" <c@y>;\r\n", "a@x", {"b@y", "c@y"}},
    };
    for (const auto& c : cases) {
        auto e = envelope_from_headers(headers_of(c.header));
        ASSERT_TRUE(e) << c.header << ": " << e.error().message;
        EXPECT_EQ(e->sender, c.sender) << c.header;
        EXPECT_EQ(e->recipients, c.recipients) << c.header;
    }
}

TEST(EnvelopeFromHeaders, Errors)
{
    struct Case {
        std::string header, error;
    };
    const Case cases[] = {
        {"From: a@x\r\n", "no recipients in To:, Cc: or Bcc:"},
        {"From: a@x\r\nTo: undisclosed-recipients:;\r\n", "no recipients in To:, Cc: or Bcc:"},
        {"From: a@x\r\nTo: b@y\r\nCc: <oops@x\r\n", "Cc: cannot parse '<oops@x': expected '>' at the end"},
        {"From: a@x\r\nTo: root\r\n", "To: cannot parse 'root': address 'root' has no domain"},
        {"From: a@@x\r\nTo: b@y\r\n", "From: cannot parse 'a@@x': expected a domain at offset 2, found '@'"},
    };
    for (const auto& c : cases) {
        auto e = envelope_from_headers(headers_of(c.header));
        ASSERT_FALSE(e) << c.header;
        EXPECT_EQ(e.error().kind, ErrorKind::bad_message);
        EXPECT_EQ(e.error().message, c.error);
    }
}

TEST(EnvelopeFromHeaders, DefaultDomainQualifies)
{
    auto e = envelope_from_headers(headers_of("From: cron\r\nTo: root, ops@x\r\n"), "host.example");
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->sender, "cron@host.example");
    EXPECT_EQ(e->recipients, (std::vector<std::string>{"root@host.example", "ops@x"}));
}

TEST(Rfc5322Date, Format)
{
    EXPECT_EQ(rfc5322_date(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(at(1795420800)), "Mon, 23 Nov 2026 08:00:00 +0000");
    EXPECT_EQ(rfc5322_date(at(951782400)), "Tue, 29 Feb 2000 00:00:00 +0000");
}

TEST(MakeMessageId, ShapeAndUniqueness)
{
    std::string a = make_message_id("mail.example.com", at(1795420800));
    std::string b = make_message_id("mail.example.com", at(1795420800));
    EXPECT_TRUE(std::regex_match(a, std::regex("<20261123080000\\.[0-9A-F]{16}@mail\\.example\\.com>"))) << a;
    EXPECT_NE(a, b);
    EXPECT_TRUE(std::regex_match(make_message_id("", at(0)),
                                 std::regex("<19700101000000\\.[0-9A-F]{16}@localhost>")));
}

PrepareOptions options(bool remove_bcc)
{
    return PrepareOptions{"mail.example.com", at(1795420800), remove_bcc};
}

TEST(PrepareForQueue, BccRemovedRestByteForByte)
{
    const std::string date = "Date: Mon, 23 Nov 2026 07:00:00 +0000\r\nMessage-ID: <x@y>\r\n";
    struct Case {
        std::string in, out;
    };
    const Case cases[] = {
        {date + "To: a@b\r\nBcc: c@d\r\nSubject:  odd   spacing \r\n\r\nBcc: in body\r\n",
         date + "To: a@b\r\nSubject:  odd   spacing \r\n\r\nBcc: in body\r\n"},
        {"Bcc: first@x,\r\n second@x\r\n" + date + "To: a@b\r\nBCC: again@x\r\n\r\nbody",
         date + "To: a@b\r\n\r\nbody\r\n"},
        {date + "To: a@b\r\nBcc:\r\n", date + "To: a@b\r\n"},  // header only, Bcc last
        {date + "To: a@b\nBcc: c@d\n\nbody\n", date + "To: a@b\r\n\r\nbody\r\n"},
    };
    for (const auto& c : cases) {
        auto out = prepare_for_queue(c.in, options(true));
        ASSERT_TRUE(out) << out.error().message;
        EXPECT_EQ(*out, c.out);
    }
    auto kept = prepare_for_queue(date + "To: a@b\r\nBcc: c@d\r\n\r\n", options(false));
    ASSERT_TRUE(kept);
    EXPECT_EQ(*kept, date + "To: a@b\r\nBcc: c@d\r\n\r\n");
}

TEST(PrepareForQueue, DateAndMessageIdOnlyWhenMissing)
{
    auto both = prepare_for_queue("To: a@b\r\n\r\nhi\r\n", options(false));
    ASSERT_TRUE(both);
    EXPECT_TRUE(std::regex_match(
        *both, std::regex("Date: Mon, 23 Nov 2026 08:00:00 \\+0000\r\n"
                          "Message-ID: <20261123080000\\.[0-9A-F]{16}@mail\\.example\\.com>\r\n"
                          "To: a@b\r\n\r\nhi\r\n")))
        << *both;

    auto id_only =
        prepare_for_queue("date: Sun, 1 Nov 2026 00:00:00 +0000\r\nTo: a@b\r\n\r\n", options(false));
    ASSERT_TRUE(id_only);
    EXPECT_EQ(id_only->rfind("Message-ID: <", 0), 0u) << *id_only;
    EXPECT_EQ(id_only->find("Date: Mon"), std::string::npos);

    const std::string full = "Message-Id: <a@b>\r\nDate: Sun, 1 Nov 2026 00:00:00 +0000\r\n\r\n";
    auto none = prepare_for_queue(full, options(false));
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, full);
}

TEST(PrepareForQueue, RejectsBadHeader)
{
    auto out = prepare_for_queue("Hello there\r\n\r\n", options(true));
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().kind, ErrorKind::bad_message);
    EXPECT_EQ(out.error().message, "line 1 of the header is not a field");
}

}  // namespace
}  // namespace mailqd
