// stdin message -> envelope and data: -t, -f, bare user names, From: added,
// Bcc: removed, dot handling, the SMTP payload and the queue ID reply.
#include "cli/submission.hpp"

#include <gtest/gtest.h>
#include <sstream>

#include "cli/submit_client.hpp"

namespace mailqd {
namespace {

const LocalIdentity me{"alice", "host.example.com"};

Submission prepare_ok(std::string_view raw, const SubmitRequest& request)
{
    auto s = prepare_submission(raw, request, me);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? *s : Submission{};
}

bool has_line(const std::string& data, const std::string& line)
{
    return data.find(line + "\r\n") != std::string::npos;
}

TEST(Submission, HeadersGiveRecipientsAndBccIsRemoved)
{
    SubmitRequest r;
    r.recipients_from_headers = true;
    r.sender_from_headers = true;
    auto s = prepare_ok(
        "From: App <app@example.com>\nTo: b@example.org, C <c@example.org>\n"
        "Bcc: secret@example.net\nSubject: hi\n\nbody\n",
        r);
    EXPECT_EQ(s.sender, "app@example.com");
    EXPECT_EQ(s.recipients,
              (std::vector<std::string>{"b@example.org", "c@example.org", "secret@example.net"}));
    EXPECT_EQ(s.data.find("Bcc"), std::string::npos);
    EXPECT_EQ(s.data.find("secret"), std::string::npos);
    EXPECT_TRUE(has_line(s.data, "Subject: hi"));
    EXPECT_TRUE(has_line(s.data, "body"));
}

TEST(Submission, SendmailDashTAddsCommandLineAndDeduplicates)
{
    SubmitRequest r;
    r.recipients_from_headers = true;
    r.recipients = {"x@example.org", "b@example.org"};
    r.add_from = true;
    auto s = prepare_ok("To: b@EXAMPLE.org\n\nhi\n", r);
    EXPECT_EQ(s.recipients, (std::vector<std::string>{"x@example.org", "b@example.org"}));
    EXPECT_EQ(s.sender, "alice@host.example.com");  // sendmail: the invoking user
    EXPECT_TRUE(has_line(s.data, "From: alice@host.example.com"));
}

TEST(Submission, BareUserNamesGetTheHostname)
{
    SubmitRequest r;
    r.recipients = {"root"};
    r.sender = "cron";
    auto s = prepare_ok("Subject: x\n\n", r);
    EXPECT_EQ(s.recipients, std::vector<std::string>{"root@host.example.com"});
    EXPECT_EQ(s.sender, "cron@host.example.com");
}

TEST(Submission, NullSender)
{
    SubmitRequest r;
    r.recipients = {"a@b.example"};
    for (const char* null_sender : {"<>", ""}) {
        r.sender = null_sender;
        EXPECT_EQ(prepare_ok("Subject: x\n\n", r).sender, "");
    }
}

TEST(Submission, FromAddedWithDisplayName)
{
    SubmitRequest r;
    r.recipients = {"a@b.example"};
    r.add_from = true;
    r.full_name = "Cron Daemon";
    r.sender = "root@h.example";
    auto s = prepare_ok("Subject: x\n\nbody\n", r);
    EXPECT_TRUE(has_line(s.data, "From: Cron Daemon <root@h.example>"));
    // An existing From: is kept as written.
    s = prepare_ok("From: Me <me@h.example>\nSubject: x\n\nbody\n", r);
    EXPECT_TRUE(has_line(s.data, "From: Me <me@h.example>"));
    EXPECT_FALSE(has_line(s.data, "From: Cron Daemon <root@h.example>"));
}

TEST(Submission, DisplayNamesAreQuotedOrEncoded)
{
    EXPECT_EQ(make_from_header("a@b", ""), "From: a@b\r\n");
    EXPECT_EQ(make_from_header("a@b", "Doe, John"), "From: \"Doe, John\" <a@b>\r\n");
    EXPECT_EQ(make_from_header("a@b", "say \"hi\""), "From: \"say \\\"hi\\\"\" <a@b>\r\n");
    EXPECT_EQ(make_from_header("a@b", "Jos\xc3\xa9"), "From: =?UTF-8?B?Sm9zw6k=?= <a@b>\r\n");
    EXPECT_EQ(make_from_header("a@b", "x\r\nBcc: evil@x"), "From: \"xBcc: evil@x\" <a@b>\r\n");
}

TEST(Submission, LenientHeadersTreatPlainTextAsBody)
{
    SubmitRequest r;
    r.recipients = {"a@b.example"};
    r.lenient_headers = true;
    r.add_from = true;
    auto s = prepare_ok("hello world\nsecond line\n", r);
    EXPECT_TRUE(has_line(s.data, "hello world"));
    EXPECT_TRUE(has_line(s.data, "From: alice@host.example.com"));
    // Strict (mailqctl submit): a bad header is refused.
    r.lenient_headers = false;
    auto strict = prepare_submission("hello world\n", r, me);
    ASSERT_FALSE(strict.ok());
    EXPECT_EQ(strict.error().kind, ErrorKind::bad_message);
}

TEST(Submission, NoRecipientsIsBadMessage)
{
    SubmitRequest r;
    r.recipients_from_headers = true;
    auto s = prepare_submission("Subject: x\n\nbody\n", r, me);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::bad_message);
    r.recipients = {"not an address@@"};
    s = prepare_submission("Subject: x\n\nbody\n", r, me);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::bad_message);
}

TEST(ReadMessage, DotEndsUnlessIgnored)
{
    std::istringstream a("line1\n.\nafter\n");
    EXPECT_EQ(read_message(a, true), "line1\n");
    std::istringstream b("line1\n.\nafter\n");
    EXPECT_EQ(read_message(b, false), "line1\n.\nafter\n");
    std::istringstream c("no newline");
    EXPECT_EQ(read_message(c, true), "no newline");
    std::istringstream d("x\r\n.\r\ny\r\n");
    EXPECT_EQ(read_message(d, true), "x\r\n");
}

TEST(SubmitClient, QueueIdFromReply)
{
    EXPECT_EQ(queue_id_from_reply("2.0.0 Ok: queued as 7F3A2C"), "7F3A2C");
    EXPECT_EQ(queue_id_from_reply("2.0.0 Ok: queued as 7F3A2C extra"), "7F3A2C");
    EXPECT_EQ(queue_id_from_reply("2.0.0 Ok"), "");
}

}  // namespace
}  // namespace mailqd
