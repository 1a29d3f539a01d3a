// SMTP client session: the messages. Each one is a transaction (RSET between
// them), pipelined when the server offers PIPELINING: RSET, MAIL, every RCPT
// and DATA leave in one write and the replies are read after (RFC 2920
// allows RSET anywhere in a group), so a message costs two round trips, not
// three. The payload and its final "." leave in one write too.
#include <algorithm>

#include "daemon/smtp_data.hpp"
#include "daemon/smtp_session.hpp"

namespace mailqd {
namespace {

using Outcomes = std::vector<std::optional<SmtpOutcome>>;

// Gives every recipient still without an outcome this one.
void settle_open(Outcomes* outcomes, const SmtpOutcome& outcome)
{
    for (auto& o : *outcomes)
        if (!o) o = outcome;
}

bool any_open(const Outcomes& outcomes)
{
    return std::any_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return !o; });
}

// A 421 means the server is closing the connection: the session is over.
PhaseError closing(SmtpStage stage, const WireReply& reply)
{
    if (!reply.status.ok()) return failure_outcome(stage, reply.status.failure, reply.status.detail);
    if (reply.reply.code == 421) return reply_outcome(stage, reply.reply);
    return std::nullopt;
}

std::string_view header_section(std::string_view data)
{
    std::size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) end = data.find("\n\n");
    return end == std::string_view::npos ? data : data.substr(0, end);
}

bool needs_smtputf8(const OutgoingMessage& message)
{
    if (has_8bit(message.sender)) return true;
    return std::any_of(message.recipients.begin(), message.recipients.end(),
                       [](const auto& r) { return has_8bit(r.address); });
}

}  // namespace

awaitable<PhaseError> SmtpSession::deliver(MessageSource source, MessageSink sink,
                                           SessionResult* result)
{
    unsigned limit = std::max(1u, options_.max_messages);
    for (unsigned n = 0; n < limit && !connection_->session_expired() && !control_->aborted(); ++n) {
        std::optional<OutgoingMessage> message = co_await source();
        if (!message) break;
        Outcomes outcomes(message->recipients.size());
        // RSET between messages only, so the last one is followed by QUIT alone.
        PhaseError error = co_await transaction(*message, n > 0, &outcomes);
        MessageOutcome done{message->id, {}};
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            const auto& r = message->recipients[i];
            // Every recipient is settled by transaction(); the fallback is defensive.
            done.recipients.push_back({r.id, r.address,
                                       outcomes[i].value_or(failure_outcome(
                                           SmtpStage::data, SmtpFailure::protocol, "no outcome"))});
        }
        result->messages.push_back(std::move(done));
        if (sink) sink(result->messages.back());
        if (error) co_return error;
    }
    co_return std::nullopt;
}

awaitable<PhaseError> SmtpSession::transaction(const OutgoingMessage& message, bool reset_first,
                                               Outcomes* outcomes)
{
    if (message.recipients.empty()) co_return std::nullopt;
    if (auto refusal = check_unsendable(message)) {
        settle_open(outcomes, *refusal);
        co_return std::nullopt;
    }
    PhaseError error = co_await send_envelope(message, reset_first, outcomes);
    if (!error && any_open(*outcomes)) error = co_await send_message_data(message, outcomes);
    if (error) settle_open(outcomes, *error);
    co_return error;
}

std::optional<SmtpOutcome> SmtpSession::check_unsendable(const OutgoingMessage& message) const
{
    auto refuse = [](std::string why) {
        return failure_outcome(SmtpStage::mail, SmtpFailure::unsendable, std::move(why));
    };
    bool addresses_ok = wire_safe_address(message.sender) &&
                        std::all_of(message.recipients.begin(), message.recipients.end(),
                                    [](const auto& r) { return wire_safe_address(r.address); });
    if (!addresses_ok) return refuse("an envelope address contains characters SMTP cannot carry");
    if (capabilities_.size && *capabilities_.size > 0 && message.data.size() > *capabilities_.size)
        return refuse("message size " + std::to_string(message.data.size()) +
                      " exceeds the relay's limit of " + std::to_string(*capabilities_.size));
    if (needs_smtputf8(message) && !capabilities_.smtputf8)
        return refuse("non-ASCII address but the relay does not offer SMTPUTF8");
    return std::nullopt;
}

// [RSET,] MAIL, RCPTs and DATA, up to the reply to DATA. Rejected recipients
// get their outcome; accepted ones stay open for the end-of-data reply. A
// refused RSET ends the session (what was pipelined behind it is dropped
// with the connection: no "." was sent, so nothing was delivered).
awaitable<PhaseError> SmtpSession::send_envelope(const OutgoingMessage& message, bool reset_first,
                                                 Outcomes* outcomes)
{
    const bool pipelining = capabilities_.pipelining;
    MailParameters params;
    params.size = capabilities_.size.has_value();
    params.size_value = message.data.size();
    params.body_8bitmime = capabilities_.eight_bit_mime && has_8bit(message.data);
    params.smtputf8 = capabilities_.smtputf8 &&
                      (needs_smtputf8(message) || has_8bit(header_section(message.data)));
    std::vector<std::string> commands;
    if (reset_first) commands.push_back("RSET");
    const std::size_t mail = commands.size();
    commands.push_back(mail_from_command(message.sender, params));
    for (const auto& r : message.recipients) commands.push_back(rcpt_to_command(r.address));
    commands.push_back("DATA");

    if (pipelining) {
        WireStatus sent = co_await connection_->send_lines(commands);
        const SmtpStage stage = reset_first ? SmtpStage::rset : SmtpStage::mail;
        if (!sent.ok()) co_return failure_outcome(stage, sent.failure, sent.detail);
    }
    WireReply reply;
    if (reset_first) {
        reply = co_await exchange(pipelining, commands.front());
        if (auto error = unexpected(SmtpStage::rset, reply, 2)) co_return error;
    }
    reply = co_await exchange(pipelining, commands[mail]);
    if (auto error = closing(SmtpStage::mail, reply)) co_return error;
    const bool mail_ok = reply.reply.positive();
    if (!mail_ok) {
        settle_open(outcomes, reply_outcome(SmtpStage::mail, reply.reply));
        if (!pipelining) co_return std::nullopt;
    }
    for (std::size_t i = 0; i < message.recipients.size(); ++i) {
        reply = co_await exchange(pipelining, commands[mail + 1 + i]);
        if (auto error = closing(SmtpStage::rcpt, reply)) co_return error;
        if (mail_ok && !reply.reply.positive())
            (*outcomes)[i] = reply_outcome(SmtpStage::rcpt, reply.reply);
    }
    const bool accepted = any_open(*outcomes);
    if (!accepted && !pipelining) co_return std::nullopt;

    reply = co_await exchange(pipelining, commands.back());
    if (auto error = closing(SmtpStage::data, reply)) co_return error;
    if (reply.reply.code == 354 && !accepted) {
        // Pipelined, every RCPT refused, yet the server wants data: end it empty.
        reply = co_await command(".");
        co_return closing(SmtpStage::end_of_data, reply);
    }
    if (reply.reply.code != 354) settle_open(outcomes, reply_outcome(SmtpStage::data, reply.reply));
    co_return std::nullopt;
}

// The reply to a command: already sent in a pipelined group, or sent now.
awaitable<WireReply> SmtpSession::exchange(bool pipelined, std::string line)
{
    if (pipelined) co_return co_await connection_->read_reply();
    co_return co_await command(std::move(line));
}

awaitable<PhaseError> SmtpSession::send_message_data(const OutgoingMessage& message,
                                                     Outcomes* outcomes)
{
    WireStatus sent = co_await connection_->send_data(to_wire_data(message.data));
    // The write did not complete, so the final "." did not leave: not delivered.
    if (!sent.ok()) co_return failure_outcome(SmtpStage::data, sent.failure, sent.detail);
    WireReply reply = co_await connection_->read_reply();
    if (!reply.status.ok())
        co_return failure_outcome(SmtpStage::end_of_data, reply.status.failure, reply.status.detail);
    settle_open(outcomes, reply_outcome(SmtpStage::end_of_data, reply.reply));
    co_return closing(SmtpStage::end_of_data, reply);
}

}  // namespace mailqd
