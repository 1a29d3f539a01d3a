// Classification and description of SMTP outcomes (see smtp_classify.hpp).
#include "daemon/smtp/smtp_classify.hpp"

#include <utility>

namespace mailqd {
namespace {

// Stages where a 5xx speaks about this message or recipient.
bool message_stage(SmtpStage stage)
{
    return stage == SmtpStage::mail || stage == SmtpStage::rcpt || stage == SmtpStage::data ||
           stage == SmtpStage::end_of_data;
}

}  // namespace

SmtpOutcome reply_outcome(SmtpStage stage, SmtpReply reply)
{
    return SmtpOutcome{stage, SmtpFailure::none, std::move(reply), {}};
}

SmtpOutcome failure_outcome(SmtpStage stage, SmtpFailure failure, std::string detail)
{
    return SmtpOutcome{stage, failure, std::nullopt, std::move(detail)};
}

RecipientState classify(const SmtpOutcome& outcome)
{
    if (outcome.failure == SmtpFailure::unsendable) return RecipientState::failed;
    if (outcome.failure != SmtpFailure::none || !outcome.reply) return RecipientState::deferred;
    const SmtpReply& reply = *outcome.reply;
    if (reply.positive() && (outcome.stage == SmtpStage::rcpt || outcome.stage == SmtpStage::end_of_data))
        return RecipientState::sent;
    if (reply.permanent() && message_stage(outcome.stage)) return RecipientState::failed;
    // 4xx, a 5xx about the relay, or a reply that makes no sense where it came
    // (a 2xx to DATA, a 3xx to RCPT).
    return RecipientState::deferred;
}

std::string describe(const SmtpOutcome& outcome)
{
    if (outcome.failure == SmtpFailure::none)
        return outcome.reply ? outcome.reply->to_string() : std::string("no reply");
    std::string detail = outcome.detail.empty() ? std::string() : ": " + outcome.detail;
    switch (outcome.failure) {
        case SmtpFailure::connection_lost:
            if (outcome.stage == SmtpStage::end_of_data)
                return "connection lost after end of data: may have been delivered";
            return "connection lost in " + std::string(to_string(outcome.stage)) + detail;
        case SmtpFailure::timeout:
            if (outcome.stage == SmtpStage::end_of_data)
                return "timeout after end of data: may have been delivered" + detail;
            return "timeout in " + std::string(to_string(outcome.stage)) + detail;
        case SmtpFailure::protocol:
            return "protocol error in " + std::string(to_string(outcome.stage)) + detail;
        default: return outcome.detail.empty() ? std::string(to_string(outcome.failure)) : outcome.detail;
    }
}

std::string_view to_string(SmtpStage stage)
{
    switch (stage) {
        case SmtpStage::connect: return "connect";
        case SmtpStage::greeting: return "greeting";
        case SmtpStage::ehlo: return "ehlo";
        case SmtpStage::starttls: return "starttls";
        case SmtpStage::auth: return "auth";
        case SmtpStage::mail: return "mail";
        case SmtpStage::rcpt: return "rcpt";
        case SmtpStage::data: return "data";
        case SmtpStage::end_of_data: return "end-of-data";
        case SmtpStage::rset: return "rset";
        case SmtpStage::quit: return "quit";
    }
    return "unknown";
}

std::string_view to_string(SmtpFailure failure)
{
    switch (failure) {
        case SmtpFailure::none: return "none";
        case SmtpFailure::dns: return "dns";
        case SmtpFailure::connect: return "connect";
        case SmtpFailure::connection_lost: return "connection-lost";
        case SmtpFailure::timeout: return "timeout";
        case SmtpFailure::tls: return "tls";
        case SmtpFailure::protocol: return "protocol";
        case SmtpFailure::policy: return "policy";
        case SmtpFailure::unsendable: return "unsendable";
    }
    return "unknown";
}

}  // namespace mailqd
