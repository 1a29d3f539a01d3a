// SMTP client session: the messages. Each one is a transaction. With
// PIPELINING, MAIL, every RCPT and DATA leave in one write and the replies
// are read after; the payload, its final "." and the next message's envelope
// leave in one write too (RFC 2920: message content may open a group), so a
// message costs one round trip. RSET goes first only after a transaction
// that ended before its end of data (RFC 2920 allows it anywhere in a group).
#include <algorithm>

#include "spool/smtp_data.hpp"
#include "daemon/smtp/smtp_session.hpp"

namespace mailqd {
namespace {

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
    const unsigned limit = std::max(1u, options_.max_messages);
    auto may_pull = [&](unsigned pulled) {
        return pulled < limit && !connection_->session_expired() && !control_->aborted();
    };
    auto report = [&](const OutgoingMessage& message, const Outcomes& outcomes) {
        MessageOutcome done{message.id, {}};
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            const auto& r = message.recipients[i];
            // Every recipient is settled by transaction(); the fallback is defensive.
            done.recipients.push_back({r.id, r.address,
                                       outcomes[i].value_or(failure_outcome(
                                           SmtpStage::data, SmtpFailure::protocol, "no outcome"))});
        }
        result->messages.push_back(std::move(done));
        if (sink) sink(result->messages.back());
    };
    unsigned pulled = 0;
    std::optional<OutgoingMessage> message;
    if (may_pull(pulled)) message = co_await source(Pull::wait);
    if (message) ++pulled;
    bool envelope_sent = false;  // it left with the previous message's data
    bool reset = false;          // the last transaction ended before its end of data
    while (message) {
        Outcomes outcomes(message->recipients.size());
        MessageSource* ahead = capabilities_.pipelining && may_pull(pulled) ? &source : nullptr;
        TransactionEnd end = co_await transaction(*message, reset, envelope_sent, ahead, &outcomes);
        report(*message, outcomes);
        if (end.error) {
            if (end.next) {  // its envelope went, if at all, with the data: no "." for it
                SmtpOutcome lost = *end.error;
                lost.stage = SmtpStage::mail;
                Outcomes never(end.next->recipients.size(), lost);
                report(*end.next, never);
            }
            co_return end.error;
        }
        if (end.next) ++pulled;
        reset = end.reset_needed;
        envelope_sent = end.next_sent;
        message = std::move(end.next);
        if (!message && may_pull(pulled)) {
            message = co_await source(Pull::wait);
            if (message) ++pulled;
        }
    }
    co_return std::nullopt;
}

bool SmtpSession::sendable(const OutgoingMessage& message) const
{
    return !message.recipients.empty() && !check_unsendable(message);
}

awaitable<SmtpSession::TransactionEnd> SmtpSession::transaction(const OutgoingMessage& message, bool reset_first,
                                                                bool envelope_sent, MessageSource* ahead,
                                                                Outcomes* outcomes)
{
    TransactionEnd end;
    end.reset_needed = reset_first;  // until something is sent
    if (message.recipients.empty()) co_return end;
    if (auto refusal = check_unsendable(message)) {
        settle_open(outcomes, *refusal);
        co_return end;
    }
    bool data_wanted = false;
    end.error = co_await send_envelope(message, reset_first, envelope_sent, outcomes, &data_wanted);
    end.reset_needed = true;
    if (!end.error && data_wanted) {
        std::vector<std::string> next_envelope;
        if (ahead) {
            auto pull = (*ahead)(Pull::ahead);  // named: see smtp_client.cpp
            end.next = co_await std::move(pull);
            end.next_sent = end.next && sendable(*end.next);
            if (end.next_sent) next_envelope = envelope_commands(*end.next, false);
        }
        end.error = co_await send_message_data(message, std::move(next_envelope), outcomes);
        end.reset_needed = false;
    }
    if (end.error) settle_open(outcomes, *end.error);
    co_return end;
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

// [RSET,] MAIL, every RCPT and DATA.
std::vector<std::string> SmtpSession::envelope_commands(const OutgoingMessage& message, bool reset_first) const
{
    MailParameters params;
    params.size = capabilities_.size.has_value();
    params.size_value = message.data.size();
    params.body_8bitmime = capabilities_.eight_bit_mime && has_8bit(message.data);
    params.smtputf8 = capabilities_.smtputf8 &&
                      (needs_smtputf8(message) || has_8bit(header_section(message.data)));
    std::vector<std::string> commands;
    if (reset_first) commands.push_back("RSET");
    commands.push_back(mail_from_command(message.sender, params));
    for (const auto& r : message.recipients) commands.push_back(rcpt_to_command(r.address));
    commands.push_back("DATA");
    return commands;
}

// [RSET,] MAIL, RCPTs and DATA, up to the reply to DATA (with PIPELINING
// in one write, unless that write went already: envelope_sent). Rejected
// recipients get their outcome; accepted ones stay open for the end-of-data
// reply, and data_wanted says whether the data should follow. A refused
// RSET ends the session (what was pipelined behind it is dropped with the
// connection: no "." was sent, so nothing was delivered).
awaitable<PhaseError> SmtpSession::send_envelope(const OutgoingMessage& message, bool reset_first,
                                                 bool envelope_sent, Outcomes* outcomes, bool* data_wanted)
{
    const bool pipelining = capabilities_.pipelining;
    if (envelope_sent) reset_first = false;  // it went behind a completed transaction
    const std::vector<std::string> commands = envelope_commands(message, reset_first);
    const std::size_t mail = reset_first ? 1 : 0;
    if (pipelining && !envelope_sent) {
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
    *data_wanted = reply.reply.code == 354;
    co_return std::nullopt;
}

// The reply to a command: already sent in a pipelined group, or sent now.
awaitable<WireReply> SmtpSession::exchange(bool pipelined, std::string line)
{
    if (pipelined) co_return co_await connection_->read_reply();
    co_return co_await command(std::move(line));
}

// The payload and its "." (then the next envelope, if any: then), and the
// reply to the ".".
awaitable<PhaseError> SmtpSession::send_message_data(const OutgoingMessage& message, std::vector<std::string> then,
                                                     Outcomes* outcomes)
{
    const bool dot_last = then.empty();
    WireStatus sent = co_await connection_->send_data(to_wire_data(message.data), std::move(then));
    // The write did not complete. With the "." last, it did not leave: not
    // delivered. With an envelope behind it, the "." may have left.
    if (!sent.ok())
        co_return failure_outcome(dot_last ? SmtpStage::data : SmtpStage::end_of_data, sent.failure, sent.detail);
    WireReply reply = co_await connection_->read_reply();
    if (!reply.status.ok())
        co_return failure_outcome(SmtpStage::end_of_data, reply.status.failure, reply.status.detail);
    settle_open(outcomes, reply_outcome(SmtpStage::end_of_data, reply.reply));
    co_return closing(SmtpStage::end_of_data, reply);
}

}  // namespace mailqd
