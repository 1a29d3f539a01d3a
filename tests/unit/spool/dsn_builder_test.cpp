#include <gtest/gtest.h>

#include "spool/dsn_builder.hpp"
#include "spool/message.hpp"

namespace mailqd {
namespace {

TEST(StatusFromReply, TakesTheEnhancedCodeOrTheClass)
{
    EXPECT_EQ(status_from_reply("550 5.1.1 <x@y>: no such user"), "5.1.1");
    EXPECT_EQ(status_from_reply("552 message too big"), "5.0.0");
    EXPECT_EQ(status_from_reply("451 4.3.0 try later"), "4.3.0");
    EXPECT_EQ(status_from_reply("expired: no delivery in 5d"), "5.0.0");
    EXPECT_EQ(status_from_reply("550 5.1."), "5.0.0");
}

// A report of mx.example.com about a message of app@example.com, now.
DsnInput report_from_mx()
{
    DsnInput in;
    in.hostname = "mx.example.com";
    in.queue_id = "7F3A2C001122";
    in.original_sender = "app@example.com";
    in.arrival = now_seconds();
    in.now = now_seconds();
    return in;
}

TEST(BuildDsn, QuotesAtMostACappedReplyAndHeader)
{
    // A 400 KB reply per recipient and a 300 KB header: the bounce quotes
    // each reply on lines within RFC 5322's 998 characters and at most
    // 100 KB of the header, cut after a whole line.
    std::string header;
    for (int i = 0; header.size() < 300000; ++i)
        header += "X-Filler-" + std::to_string(i) + ": " + std::string(60, 'h') + "\r\n";
    const std::string original = header + "\r\nbody\r\n";
    DsnInput in = report_from_mx();
    for (int i = 0; i < 5; ++i)
        in.failed.push_back(
            {"r" + std::to_string(i) + "@example.org", "550 5.7.1 " + std::string(400000, 'x'), ""});
    in.original = original;

    NewMessage dsn = build_dsn(in);
    EXPECT_LT(dsn.data.size(), 120000u);
    std::size_t start = 0;
    while (start < dsn.data.size()) {
        std::size_t end = dsn.data.find("\r\n", start);
        ASSERT_NE(end, std::string::npos);
        ASSERT_LE(end - start, 998u) << dsn.data.substr(start, 40);
        start = end + 2;
    }
    EXPECT_NE(dsn.data.find("X-Filler-0: "), std::string::npos);
    EXPECT_EQ(dsn.data.find("X-Filler-4000: "), std::string::npos);
    EXPECT_NE(dsn.data.find("Status: 5.7.1\r\n"), std::string::npos);
    auto headers = parse_headers(dsn.data);
    EXPECT_TRUE(headers.ok());
}

TEST(BuildDsn, IsAMultipartReportFromTheNullSender)
{
    const std::string original =
        "From: app@example.com\r\nTo: b@example.org\r\nSubject: reset\r\n\r\nsecret body\r\n";
    DsnInput in = report_from_mx();
    in.failed = {{"b@example.org", "550 5.1.1 no such\r\nuser", "relay.example.net"}};
    in.original = original;

    NewMessage dsn = build_dsn(in);
    EXPECT_EQ(dsn.sender, "");
    ASSERT_EQ(dsn.recipients.size(), 1u);
    EXPECT_EQ(dsn.recipients[0], "app@example.com");

    auto headers = parse_headers(dsn.data);
    ASSERT_TRUE(headers.ok()) << headers.error().message;
    ASSERT_NE(headers->find("content-type"), nullptr);
    EXPECT_NE(headers->find("content-type")->value.find("multipart/report; report-type=delivery-status"),
              std::string::npos);
    EXPECT_NE(headers->find("date"), nullptr);
    EXPECT_NE(headers->find("message-id"), nullptr);

    const std::string& d = dsn.data;
    EXPECT_NE(d.find("Final-Recipient: rfc822; b@example.org\r\n"), std::string::npos);
    EXPECT_NE(d.find("Action: failed\r\n"), std::string::npos);
    EXPECT_NE(d.find("Status: 5.1.1\r\n"), std::string::npos);
    // A CR/LF in a remote reply cannot start a new field.
    EXPECT_NE(d.find("Diagnostic-Code: smtp; 550 5.1.1 no such  user\r\n"), std::string::npos);
    EXPECT_NE(d.find("Remote-MTA: dns; relay.example.net\r\n"), std::string::npos);
    // The original's header, not its body.
    EXPECT_NE(d.find("Subject: reset\r\n"), std::string::npos);
    EXPECT_EQ(d.find("secret body"), std::string::npos);
    // No bare LF anywhere.
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (d[i] == '\n') {
            ASSERT_TRUE(i > 0 && d[i - 1] == '\r') << "bare LF at " << i;
        }
    }
}

}  // namespace
}  // namespace mailqd
