// The delivery recorder against a real queue database: session outcomes
// become sent / failed / deferred (with the [queue] backoff, capped at the
// end of the lifetime), one writer job per message, a bounce through the
// Intake for failed recipients, and the recipients handed back once durable.
// Also the log helpers (relay names, quoting, durations).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "../spool/store_test_support.hpp"
#include "daemon/delivery_recorder.hpp"
#include "daemon/intake.hpp"
#include "daemon/logging.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/queue_events.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

SmtpOutcome reply(SmtpStage stage, int code, std::string enhanced, std::string text)
{
    SmtpReply r;
    r.code = code;
    r.enhanced = std::move(enhanced);
    r.text = text;
    r.lines = {text};
    return reply_outcome(stage, r);
}

class RecorderTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto writer = StoreWriter::open(dir_.db());
        ASSERT_TRUE(writer);
        writer_ = std::move(*writer);
        auto reader = Store::open(dir_.db());
        ASSERT_TRUE(reader);
        reader_ = std::move(*reader);
        intake_ = std::make_unique<Intake>(*writer_, events_, "host.example");
        recorder_ =
            std::make_unique<DeliveryRecorder>(io_.get_executor(), *writer_, *intake_,
                                               [this](const std::vector<std::int64_t>& ids, bool still_due) {
                                                   settled_.insert(settled_.end(), ids.begin(), ids.end());
                                                   // What a crash right now would leave on disk.
                                                   auto all = reader_->list(std::nullopt);
                                                   messages_at_settle_ = all ? all->size() : 0;
                                                   if (still_due) ++still_due_;
                                               });
        recorder_->set_policy(
            DeliveryPolicy{BackoffPolicy{60s, 3600s, 2.0, 0.0}, 86400s, true, "mailqd.test"});
    }

    // A message with these recipients, queued `age` ago; its Delivery.
    Delivery queue_message(std::vector<std::string> recipients, std::string sender = "a@example.com",
                           std::chrono::seconds age = 10s)
    {
        auto id = reader_->accept(test::make_message(recipients, sender), now_seconds() - age);
        EXPECT_TRUE(id);
        auto info = reader_->show(*id);
        Delivery delivery{*id, sender, info->received_at, {}, {}};
        for (const auto& r : info->recipients) delivery.recipients.push_back({r.id, r.address, 0, {}});
        return delivery;
    }

    // Runs the io context until n recipients are settled and `bounces`
    // bounces were accepted.
    void run_until(std::size_t n, std::uint64_t bounces = 0)
    {
        io_.restart();  // a previous run_until ran out of work
        auto guard = asio::make_work_guard(io_);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while ((settled_.size() < n || intake_->accepted() < bounces) &&
               std::chrono::steady_clock::now() < deadline)
            io_.run_one_for(50ms);
        ASSERT_EQ(settled_.size(), n);
        ASSERT_EQ(still_due_, 0u) << "every outcome was recorded";
        ASSERT_EQ(intake_->accepted(), bounces);
    }

    RecipientInfo recipient(const std::string& id, std::size_t i)
    {
        auto info = reader_->show(id);
        EXPECT_TRUE(info);
        return info->recipients.at(i);
    }

    TempDir dir_;
    asio::io_context io_;
    QueueEvents events_;
    std::unique_ptr<StoreWriter> writer_;
    std::unique_ptr<Store> reader_;
    std::unique_ptr<Intake> intake_;
    std::unique_ptr<DeliveryRecorder> recorder_;
    std::vector<std::int64_t> settled_;
    unsigned still_due_ = 0;
    std::size_t messages_at_settle_ = 0;
};

TEST_F(RecorderTest, SessionOutcomesAreClassifiedRecordedAndBounced)
{
    Delivery d = queue_message({"good@example.org", "bad@example.org", "later@example.org"});
    d.recipients[2].attempts = 2;  // the third attempt: backoff 60 s * 2^2
    MessageOutcome outcome{
        d.message_id,
        {{d.recipients[0].id, "good@example.org", reply(SmtpStage::end_of_data, 250, "2.0.0", "Ok: queued")},
         {d.recipients[1].id, "bad@example.org", reply(SmtpStage::rcpt, 550, "5.1.1", "no such user")},
         {d.recipients[2].id, "later@example.org", reply(SmtpStage::rcpt, 451, "4.3.0", "try later")}}};
    const TimePoint before = now_seconds();
    recorder_->record(d, outcome, "default", "relay.test[127.0.0.1]:25");
    run_until(3, 1);

    EXPECT_EQ(recipient(d.message_id, 0).state, RecipientState::sent);
    EXPECT_EQ(recipient(d.message_id, 1).state, RecipientState::failed);
    EXPECT_EQ(recipient(d.message_id, 1).last_reply, "550 5.1.1 no such user");
    RecipientInfo later = recipient(d.message_id, 2);
    EXPECT_EQ(later.state, RecipientState::deferred);
    EXPECT_EQ(later.last_reply, "451 4.3.0 try later");
    ASSERT_TRUE(later.next_attempt_at);
    EXPECT_GE(*later.next_attempt_at, before + 240s);
    EXPECT_LE(*later.next_attempt_at, now_seconds() + 240s);

    auto shown = reader_->show(d.message_id);
    ASSERT_EQ(shown->attempts.size(), 3u);
    EXPECT_EQ(shown->attempts[0].relay, "default");

    // The bounce: from <> to the sender, naming only the failed recipient.
    auto all = reader_->list(std::nullopt);
    ASSERT_EQ(all->size(), 2u);
    const MessageInfo& bounce = all->at(0).sender.empty() ? all->at(0) : all->at(1);
    EXPECT_EQ(bounce.sender, "");
    ASSERT_EQ(bounce.recipients.size(), 1u);
    EXPECT_EQ(bounce.recipients[0].address, "a@example.com");
    auto data = reader_->message_data(bounce.id);
    EXPECT_NE(data->find("bad@example.org"), std::string::npos);
    EXPECT_EQ(data->find("good@example.org"), std::string::npos);
}

TEST_F(RecorderTest, TheBounceCommitsWithTheFailure)
{
    // Once the failure is durable (the recipients settled), its bounce is
    // too: there is no moment at which a crash keeps one and loses the other.
    Delivery d = queue_message({"bad@example.org"});
    MessageOutcome outcome{
        d.message_id, {{d.recipients[0].id, "bad@example.org", reply(SmtpStage::rcpt, 550, "5.1.1", "no")}}};
    recorder_->record(d, outcome, "default", "relay.test[127.0.0.1]:25");
    run_until(1, 1);
    EXPECT_EQ(messages_at_settle_, 2u) << "the bounce was committed after the failure";
}

TEST_F(RecorderTest, AFailureWhoseBounceCannotBeStoredStaysDue)
{
    // The bounce's insert fails (the store refuses new messages): the
    // failure is rolled back with it and the recipient stays due.
    Delivery d = queue_message({"bad@example.org"});
    test::RawDb(dir_.db()).exec(
        "CREATE TRIGGER no_new BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'refused'); END");
    MessageOutcome outcome{
        d.message_id, {{d.recipients[0].id, "bad@example.org", reply(SmtpStage::rcpt, 550, "5.1.1", "no")}}};
    recorder_->record(d, outcome, "default", "");
    io_.restart();
    auto guard = asio::make_work_guard(io_);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (settled_.empty() && std::chrono::steady_clock::now() < deadline) io_.run_one_for(50ms);
    ASSERT_EQ(settled_.size(), 1u);
    EXPECT_EQ(still_due_, 1u);
    EXPECT_NE(recipient(d.message_id, 0).state, RecipientState::failed);
    EXPECT_EQ(reader_->list(std::nullopt)->size(), 1u);
}

TEST_F(RecorderTest, NoBounceForTheNullSenderOrWhenDisabled)
{
    Delivery from_null = queue_message({"bad@example.org"}, "");
    MessageOutcome refused{
        from_null.message_id,
        {{from_null.recipients[0].id, "bad@example.org", reply(SmtpStage::rcpt, 550, "5.1.1", "no")}}};
    recorder_->record(from_null, refused, "default", "");
    run_until(1, 0);

    recorder_->set_policy(DeliveryPolicy{BackoffPolicy{}, 86400s, false, "mailqd.test"});
    Delivery normal = queue_message({"bad@example.org"});
    refused.id = normal.message_id;
    refused.recipients[0].id = normal.recipients[0].id;
    recorder_->record(normal, refused, "default", "");
    run_until(2, 0);
    EXPECT_EQ(reader_->list(std::nullopt)->size(), 2u);
}

// The DSN messages the recipients queued, in queue order.
std::vector<std::string> dsn_texts(Store& reader)
{
    std::vector<std::string> out;
    auto all = reader.list(std::nullopt);  // kept: a range-for over *list() would outlive it
    EXPECT_TRUE(all);
    for (const auto& m : *all)
        if (m.sender.empty()) out.push_back(*reader.message_data(m.id));
    return out;
}

// RFC 3461 4.1: NOTIFY per recipient. Absent or with FAILURE: bounced;
// NEVER, or a list without FAILURE: not. ENVID and ORCPT reach the report.
TEST_F(RecorderTest, NotifyDecidesWhichFailuresAreBounced)
{
    Delivery d = queue_message(
        {"never@example.org", "success@example.org", "failure@example.org", "plain@example.org"});
    d.recipients[0].dsn.notify = *parse_dsn_notify("never");
    d.recipients[1].dsn.notify = *parse_dsn_notify("success");
    d.recipients[2].dsn = {*parse_dsn_notify("failure,delay"), "rfc822;Failure@example.org"};
    d.dsn = {DsnRet::hdrs, "env-7"};
    MessageOutcome outcome{d.message_id, {}, false};
    for (const auto& r : d.recipients)
        outcome.recipients.push_back({r.id, r.address, reply(SmtpStage::rcpt, 550, "5.1.1", "no such user")});
    recorder_->record(d, outcome, "default", "relay.test[127.0.0.1]:25");
    run_until(4, 1);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(recipient(d.message_id, i).state, RecipientState::failed);

    const auto dsns = dsn_texts(*reader_);
    ASSERT_EQ(dsns.size(), 1u);
    const std::string& bounce = dsns[0];
    EXPECT_EQ(bounce.find("never@example.org"), std::string::npos);
    EXPECT_EQ(bounce.find("success@example.org"), std::string::npos);
    EXPECT_NE(bounce.find("Final-Recipient: rfc822; failure@example.org"), std::string::npos);
    EXPECT_NE(bounce.find("Final-Recipient: rfc822; plain@example.org"), std::string::npos);
    EXPECT_NE(bounce.find("Original-Recipient: rfc822;Failure@example.org\r\n"), std::string::npos);
    EXPECT_NE(bounce.find("Original-Envelope-Id: env-7\r\n"), std::string::npos);
    EXPECT_NE(bounce.find("Content-Type: text/rfc822-headers"), std::string::npos);

    // Every recipient NEVER: no bounce at all.
    Delivery quiet = queue_message({"x@example.org"});
    quiet.recipients[0].dsn.notify = *parse_dsn_notify("NEVER");
    MessageOutcome refused{
        quiet.message_id,
        {{quiet.recipients[0].id, "x@example.org", reply(SmtpStage::rcpt, 550, "5.1.1", "no")}},
        false};
    recorder_->record(quiet, refused, "default", "");
    run_until(5, 1);
    EXPECT_EQ(dsn_texts(*reader_).size(), 1u);
}

// NOTIFY=SUCCESS: a relay that offered DSN got the parameters and reports
// itself; one that did not gets the mail, and the sender a "relayed" DSN.
TEST_F(RecorderTest, NotifySuccessIsReportedAsRelayedUnlessTheRelayTookIt)
{
    Delivery passed = queue_message({"s@example.org"});
    passed.recipients[0].dsn.notify = *parse_dsn_notify("success,failure");
    MessageOutcome ok{passed.message_id,
                      {{passed.recipients[0].id, "s@example.org",
                        reply(SmtpStage::end_of_data, 250, "2.0.0", "Ok: queued as 99")}},
                      true};
    recorder_->record(passed, ok, "default", "relay.test[127.0.0.1]:25");
    run_until(1, 0);
    EXPECT_TRUE(dsn_texts(*reader_).empty());

    Delivery relayed = queue_message({"s@example.org", "quiet@example.org"});
    relayed.recipients[0].dsn.notify = *parse_dsn_notify("success");
    relayed.dsn.envid = "e-1";
    MessageOutcome sent{relayed.message_id, {}, false};
    for (const auto& r : relayed.recipients)
        sent.recipients.push_back(
            {r.id, r.address, reply(SmtpStage::end_of_data, 250, "2.0.0", "Ok: queued as 99")});
    recorder_->record(relayed, sent, "default", "relay.test[127.0.0.1]:25");
    run_until(3, 1);
    const auto dsns = dsn_texts(*reader_);
    ASSERT_EQ(dsns.size(), 1u);
    EXPECT_NE(dsns[0].find("Action: relayed\r\nStatus: 2.0.0\r\n"), std::string::npos) << dsns[0];
    EXPECT_NE(dsns[0].find("Final-Recipient: rfc822; s@example.org"), std::string::npos);
    EXPECT_EQ(dsns[0].find("quiet@example.org"), std::string::npos);  // no NOTIFY: no news is good news
    EXPECT_NE(dsns[0].find("Original-Envelope-Id: e-1\r\n"), std::string::npos);
    EXPECT_NE(dsns[0].find("Remote-MTA: dns; relay.test"), std::string::npos);
}

TEST_F(RecorderTest, DeferredNeverLaterThanTheEndOfTheLifetime)
{
    // Queued a day minus 100 s ago: a 1 h backoff would outlive the message.
    recorder_->set_policy(DeliveryPolicy{BackoffPolicy{3600s, 3600s, 2.0, 0.0}, 86400s, true, "h"});
    Delivery d = queue_message({"b@example.org"}, "a@example.com", 86400s - 100s);
    MessageOutcome outcome{d.message_id,
                           {{d.recipients[0].id, "b@example.org",
                             failure_outcome(SmtpStage::connect, SmtpFailure::connect, "refused")}}};
    recorder_->record(d, outcome, "default", "");
    run_until(1);
    RecipientInfo r = recipient(d.message_id, 0);
    EXPECT_EQ(r.state, RecipientState::deferred);
    EXPECT_EQ(*r.next_attempt_at, d.received_at + 86400s);
}

TEST_F(RecorderTest, RelayFailureDefersWithOneDrawAndAMinimumDelay)
{
    recorder_->set_policy(DeliveryPolicy{BackoffPolicy{60s, 3600s, 2.0, 0.5}, 86400s, true, "h"});
    Delivery d = queue_message({"b@example.org", "c@example.org"});
    const TimePoint before = now_seconds();
    recorder_->defer(d, "default", "", "connection lost in greeting", 0.5, 0s);
    Delivery e = queue_message({"d@example.org"});
    recorder_->defer(e, "default", "", "delivery temporarily suspended: x", 0.5, 500s);
    run_until(3);
    // random01 = 0.5: exactly the base delay, the same for both.
    EXPECT_EQ(*recipient(d.message_id, 0).next_attempt_at, *recipient(d.message_id, 1).next_attempt_at);
    EXPECT_GE(*recipient(d.message_id, 0).next_attempt_at, before + 60s);
    EXPECT_LE(*recipient(d.message_id, 0).next_attempt_at, now_seconds() + 60s);
    EXPECT_GE(*recipient(e.message_id, 0).next_attempt_at, before + 500s);
    EXPECT_EQ(recipient(d.message_id, 0).last_reply, "connection lost in greeting");
}

TEST_F(RecorderTest, ExpiredRecipientsFailAndBounce)
{
    Delivery d = queue_message({"b@example.org"});
    recorder_->expire(d, "default", {"expired: not delivered within 5d; last reply: 451 4.3.0 later"});
    run_until(1, 1);
    RecipientInfo r = recipient(d.message_id, 0);
    EXPECT_EQ(r.state, RecipientState::failed);
    EXPECT_EQ(r.last_reply.rfind("expired: ", 0), 0u);
}

TEST_F(RecorderTest, DeletedMessagesAreSettledWithoutError)
{
    Delivery d = queue_message({"b@example.org"});
    ASSERT_TRUE(reader_->remove(d.message_id));
    MessageOutcome outcome{
        d.message_id,
        {{d.recipients[0].id, "b@example.org", reply(SmtpStage::end_of_data, 250, "2.0.0", "ok")}}};
    recorder_->record(d, outcome, "default", "");
    run_until(1);
    EXPECT_TRUE(reader_->list(std::nullopt)->empty());
}

TEST(DeliveryLog, RelayNames)
{
    EXPECT_EQ(log_relay("default", "mail.example.org[203.0.113.5]:587"), "default[203.0.113.5]:587");
    EXPECT_EQ(log_relay("default", "mail.example.org:587"), "default[mail.example.org]:587");
    EXPECT_EQ(log_relay("default", "[::1]:25"), "default[::1]:25");
    EXPECT_EQ(log_relay("default", ""), "default");
}

TEST(DeliveryLog, QuotedReplies)
{
    EXPECT_EQ(log_quoted("451 4.3.0 try later"), "451 4.3.0 try later");
    EXPECT_EQ(log_quoted("say \"hi\"\r\nfake: line\x1b[31m"), "say \\\"hi\\\"??fake: line?[31m");
    EXPECT_EQ(log_quoted("back\\slash"), "back\\\\slash");
}

TEST(DeliveryLog, Durations)
{
    EXPECT_EQ(format_duration(432000s), "5d");
    EXPECT_EQ(format_duration(7200s), "2h");
    EXPECT_EQ(format_duration(5400s), "90m");
    EXPECT_EQ(format_duration(61s), "61s");
    EXPECT_EQ(format_duration(3s), "3s");
    EXPECT_EQ(format_duration(0s), "0s");
}

}  // namespace
}  // namespace mailqd
