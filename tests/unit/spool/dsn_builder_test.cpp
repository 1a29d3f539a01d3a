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
    EXPECT_EQ(status_from_reply("250 Ok: queued as 7F3A"), "2.0.0");
    EXPECT_EQ(status_from_reply("250 2.6.0 queued"), "2.6.0");
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
        in.recipients.push_back(
            {"r" + std::to_string(i) + "@example.org", "550 5.7.1 " + std::string(400000, 'x'), "", ""});
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
    in.recipients = {{"b@example.org", "550 5.1.1 no such\r\nuser", "relay.example.net", ""}};
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

// The text between a part's header and the next boundary line.
std::string part_after(const std::string& dsn, std::string_view part_header)
{
    const auto start = dsn.find(part_header);
    if (start == std::string::npos) return "(no such part)";
    const auto body = start + part_header.size();
    const auto end = dsn.find("\r\n--", body);
    return dsn.substr(body, end - body);
}

constexpr std::string_view status_part =
    "Content-Type: message/delivery-status\r\n"
    "Content-Description: Delivery report\r\n\r\n";

const std::string original_message =
    "From: app@example.com\r\nTo: b@example.org\r\nSubject: reset\r\n\r\nsecret body\r\n";

// RFC 3464 order: Original-Envelope-Id before Reporting-MTA, Original-
// Recipient before Final-Recipient, both only when given.
TEST(BuildDsn, CarriesEnvidAndOrcptWhereGiven)
{
    DsnInput in = report_from_mx();
    in.arrival = TimePoint{std::chrono::seconds{1795507200}};  // 2026-11-23 08:00:00 UTC
    in.now = in.arrival + std::chrono::seconds(60);
    in.recipients = {{"b@example.org", "550 5.1.1 no such user", "relay.example.net", "rfc822;B@example.org"},
                     {"c@example.org", "554 rejected", "relay.example.net", ""}};
    in.dsn.envid = "abc 123";
    in.original = original_message;
    const std::string date_arrival = rfc5322_date(in.arrival), date_now = rfc5322_date(in.now);
    EXPECT_EQ(part_after(build_dsn(in).data, status_part),
              "Original-Envelope-Id: abc 123\r\n"
              "Reporting-MTA: dns; mx.example.com\r\n"
              "X-Mailqd-Queue-ID: 7F3A2C001122\r\n"
              "Arrival-Date: " +
                  date_arrival +
                  "\r\n"
                  "\r\n"
                  "Original-Recipient: rfc822;B@example.org\r\n"
                  "Final-Recipient: rfc822; b@example.org\r\n"
                  "Action: failed\r\n"
                  "Status: 5.1.1\r\n"
                  "Remote-MTA: dns; relay.example.net\r\n"
                  "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
                  "Last-Attempt-Date: " +
                  date_now +
                  "\r\n"
                  "\r\n"
                  "Final-Recipient: rfc822; c@example.org\r\n"
                  "Action: failed\r\n"
                  "Status: 5.0.0\r\n"
                  "Remote-MTA: dns; relay.example.net\r\n"
                  "Diagnostic-Code: smtp; 554 rejected\r\n"
                  "Last-Attempt-Date: " +
                  date_now + "\r\n");

    in.dsn.envid.clear();
    EXPECT_EQ(build_dsn(in).data.find("Original-Envelope-Id"), std::string::npos);
}

// RET=HDRS and no RET return the header (text/rfc822-headers, RFC 6522);
// RET=FULL the whole message as message/rfc822, unless it is too big.
TEST(BuildDsn, ReturnsTheHeaderOrWithRetFullTheMessage)
{
    DsnInput in = report_from_mx();
    in.recipients = {{"b@example.org", "550 5.1.1 no such user", "", ""}};
    in.original = original_message;
    const std::string header_only = "From: app@example.com\r\nTo: b@example.org\r\nSubject: reset\r\n";
    for (DsnRet ret : {DsnRet::unspecified, DsnRet::hdrs}) {
        in.dsn.ret = ret;
        const std::string d = build_dsn(in).data;
        EXPECT_EQ(part_after(d,
                             "Content-Type: text/rfc822-headers\r\n"
                             "Content-Description: Undelivered Message Headers\r\n\r\n"),
                  header_only);
        EXPECT_EQ(d.find("secret body"), std::string::npos);
        EXPECT_EQ(d.find("message/rfc822"), std::string::npos);
    }
    in.dsn.ret = DsnRet::full;
    std::string d = build_dsn(in).data;
    EXPECT_EQ(
        part_after(d, "Content-Type: message/rfc822\r\nContent-Description: Undelivered Message\r\n\r\n"),
        original_message);
    EXPECT_EQ(d.find("text/rfc822-headers"), std::string::npos);

    const std::string big = "Subject: big\r\n\r\n" + std::string(max_returned_message, 'x') + "\r\n";
    in.original = big;
    d = build_dsn(in).data;
    EXPECT_NE(d.find("Content-Type: text/rfc822-headers"), std::string::npos);
    EXPECT_EQ(d.find("xxxxxxxx"), std::string::npos);
}

// NOTIFY=SUCCESS to a relay without DSN: Action relayed, a 2.x.x status,
// never the body, even with RET=FULL (RFC 3461 4.3 returns it on failure).
TEST(BuildDsn, RelayedReportForNotifySuccess)
{
    DsnInput in = report_from_mx();
    in.action = DsnAction::relayed;
    in.recipients = {{"b@example.org", "250 Ok: queued as 123", "relay.example.net", ""}};
    in.dsn = {DsnRet::full, "e1"};
    in.original = original_message;
    NewMessage dsn = build_dsn(in);
    EXPECT_EQ(dsn.sender, "");
    EXPECT_EQ(dsn.recipients, std::vector<std::string>{"app@example.com"});
    const std::string& d = dsn.data;
    EXPECT_NE(d.find("Subject: Successful Mail Delivery Report\r\n"), std::string::npos);
    const std::string status = part_after(d, status_part);
    EXPECT_TRUE(status.starts_with("Original-Envelope-Id: e1\r\n")) << status;
    EXPECT_NE(status.find("Action: relayed\r\nStatus: 2.0.0\r\n"), std::string::npos) << status;
    EXPECT_NE(status.find("Diagnostic-Code: smtp; 250 Ok: queued as 123\r\n"), std::string::npos) << status;
    EXPECT_EQ(d.find("secret body"), std::string::npos);
    EXPECT_NE(d.find("Content-Type: text/rfc822-headers"), std::string::npos);
    EXPECT_NE(d.find("was relayed"), std::string::npos);
}

}  // namespace
}  // namespace mailqd
