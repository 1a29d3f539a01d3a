// The one sent / deferred / failed decision, as a table of stage x outcome.
#include "daemon/smtp/smtp_classify.hpp"

#include <gtest/gtest.h>

namespace mailqd {
namespace {

SmtpReply reply(int code, std::string text = "text")
{
    SmtpReply r;
    r.code = code;
    r.text = std::move(text);
    r.lines = {r.text};
    return r;
}

TEST(SmtpClassify, RepliesByStage)
{
    using S = SmtpStage;
    using R = RecipientState;
    struct Case {
        S stage;
        int code;
        R expected;
    };
    const Case cases[] = {
        {S::rcpt, 250, R::sent},
        {S::rcpt, 251, R::sent},
        {S::end_of_data, 250, R::sent},
        {S::rcpt, 450, R::deferred},
        {S::rcpt, 550, R::failed},
        {S::rcpt, 553, R::failed},
        {S::mail, 451, R::deferred},
        {S::mail, 550, R::failed},
        {S::data, 451, R::deferred},
        {S::data, 554, R::failed},
        {S::end_of_data, 452, R::deferred},
        {S::end_of_data, 552, R::failed},
        {S::end_of_data, 421, R::deferred},
        // The relay is unusable, not the message: deferred.
        {S::greeting, 554, R::deferred},
        {S::greeting, 421, R::deferred},
        {S::ehlo, 550, R::deferred},
        {S::starttls, 554, R::deferred},
        {S::auth, 535, R::deferred},
        {S::auth, 454, R::deferred},
        {S::rset, 500, R::deferred},
        // Replies that make no sense where they came are not a success.
        {S::data, 250, R::deferred},
        {S::mail, 250, R::deferred},
        {S::rcpt, 354, R::deferred},
    };
    for (const auto& c : cases)
        EXPECT_EQ(classify(reply_outcome(c.stage, reply(c.code))), c.expected)
            << to_string(c.stage) << " " << c.code;
}

TEST(SmtpClassify, LocalFailures)
{
    using F = SmtpFailure;
    for (F f : {F::dns, F::connect, F::connection_lost, F::timeout, F::tls, F::protocol, F::policy})
        for (SmtpStage stage : {SmtpStage::connect, SmtpStage::rcpt, SmtpStage::end_of_data})
            EXPECT_EQ(classify(failure_outcome(stage, f, "x")), RecipientState::deferred)
                << to_string(f) << " at " << to_string(stage);
    EXPECT_EQ(classify(failure_outcome(SmtpStage::mail, F::unsendable, "too big")), RecipientState::failed);
}

TEST(SmtpClassify, Describe)
{
    SmtpReply r = reply(451, "try later");
    r.enhanced = "4.3.0";
    EXPECT_EQ(describe(reply_outcome(SmtpStage::rcpt, r)), "451 4.3.0 try later");
    EXPECT_EQ(
        describe(failure_outcome(SmtpStage::end_of_data, SmtpFailure::connection_lost, "read: End of file")),
        "connection lost after end of data: may have been delivered");
    EXPECT_EQ(describe(failure_outcome(SmtpStage::rcpt, SmtpFailure::connection_lost, "read: End of file")),
              "connection lost in rcpt: read: End of file");
    EXPECT_EQ(describe(failure_outcome(SmtpStage::data, SmtpFailure::timeout, "no progress for 5s")),
              "timeout in data: no progress for 5s");
    EXPECT_EQ(describe(failure_outcome(SmtpStage::starttls, SmtpFailure::policy, "STARTTLS not offered")),
              "STARTTLS not offered");
    EXPECT_EQ(describe(failure_outcome(SmtpStage::starttls, SmtpFailure::tls,
                                       "TLS handshake failed: certificate verify failed: hostname mismatch")),
              "TLS handshake failed: certificate verify failed: hostname mismatch");
}

TEST(SmtpClassify, StageNames)
{
    EXPECT_EQ(to_string(SmtpStage::end_of_data), "end-of-data");
    EXPECT_EQ(to_string(SmtpStage::connect), "connect");
    EXPECT_EQ(to_string(SmtpFailure::connection_lost), "connection-lost");
}

}  // namespace
}  // namespace mailqd
