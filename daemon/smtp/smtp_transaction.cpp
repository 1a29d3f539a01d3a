// SMTP client session: the messages. Each one is a transaction. With
// PIPELINING, MAIL, every RCPT and DATA leave in one write and the replies
// are read after; the payload, its final "." and the next message's envelope
// leave in one write too (RFC 2920: message content may open a group), so a
// message costs one round trip. RSET goes first only after a transaction
// that ended before its end of data (RFC 2920 allows it anywhere in a group).
#include <algorithm>

#include "daemon/smtp/smtp_session.hpp"
#include "spool/smtp_data.hpp"

namespace mailqd {
namespace {

// Gives every recipient still without an outcome this one.
void settle_open(Outcomes& outcomes, const SmtpOutcome& outcome)
{
    for (auto& o : outcomes)
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

awaitable<SessionResult> SmtpSession::deliver(MessageSource source, MessageSink sink)
{
    SessionResult result;
    const unsigned limit = std::max(1u, options_.max_messages);
    auto may_pull = [&](unsigned pulled) {
        return pulled < limit && !connection_->session_expired() && !control_->aborted();
    };
    auto report = [&](const OutgoingMessage& message, const Outcomes& outcomes) {
        MessageOutcome done{message.id, {}, capabilities_.dsn};
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            const auto& r = message.recipients[i];
            // Every recipient is settled by transaction(); the fallback is defensive.
            done.recipients.push_back({r.id, r.address,
                                       outcomes[i].value_or(failure_outcome(
                                           SmtpStage::data, SmtpFailure::protocol, "no outcome"))});
        }
        result.messages.push_back(std::move(done));
        if (sink) sink(result.messages.back());
    };
    unsigned pulled = 0;
    NextMessage next;
    if (may_pull(pulled)) next.message = co_await source(Pull::wait);
    if (next.message) ++pulled;
    bool reset = false;  // the last transaction ended before its end of data
    while (next.message) {
        MessageSource* ahead = capabilities_.pipelining && may_pull(pulled) ? &source : nullptr;
        TransactionEnd end = co_await transaction(*next.message, reset, next.envelope_sent, ahead);
        report(*next.message, end.outcomes);
        if (end.error) {
            if (end.next.message) {  // its envelope went, if at all, with the data: no "." for it
                SmtpOutcome lost = *end.error;
                lost.stage = SmtpStage::mail;
                report(*end.next.message, Outcomes(end.next.message->recipients.size(), lost));
            }
            result.error = end.error;
            co_return result;
        }
        if (end.next.message) ++pulled;
        reset = end.reset_needed;
        next = std::move(end.next);
        if (!next.message && may_pull(pulled)) {
            next.message = co_await source(Pull::wait);
            if (next.message) ++pulled;
        }
    }
    co_return result;
}

bool SmtpSession::sendable(const OutgoingMessage& message) const
{
    return !message.recipients.empty() && !check_unsendable(message);
}

awaitable<SmtpSession::TransactionEnd> SmtpSession::transaction(const OutgoingMessage& message,
                                                                bool reset_first, bool envelope_sent,
                                                                MessageSource* ahead)
{
    TransactionEnd end;
    end.outcomes.resize(message.recipients.size());
    end.reset_needed = reset_first;  // until something is sent
    if (message.recipients.empty()) co_return end;
    if (auto refusal = check_unsendable(message)) {
        settle_open(end.outcomes, *refusal);
        co_return end;
    }
    EnvelopeEnd envelope = co_await send_envelope(message, reset_first, envelope_sent);
    end.outcomes = std::move(envelope.outcomes);
    end.error = std::move(envelope.error);
    end.reset_needed = true;
    if (!end.error && envelope.data_wanted) {
        std::vector<std::string> next_envelope;
        if (ahead) {
            auto pull = (*ahead)(Pull::ahead);  // named: see smtp_client.cpp
            end.next.message = co_await std::move(pull);
            end.next.envelope_sent = end.next.message && sendable(*end.next.message);
            if (end.next.envelope_sent) next_envelope = envelope_commands(*end.next.message, false);
        }
        DataEnd data = co_await send_message_data(message, std::move(next_envelope));
        settle_open(end.outcomes, data.outcome);
        end.error = std::move(data.error);
        end.reset_needed = false;
    }
    if (end.error) settle_open(end.outcomes, *end.error);
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
std::vector<std::string> SmtpSession::envelope_commands(const OutgoingMessage& message,
                                                        bool reset_first) const
{
    MailParameters params;
    params.size = capabilities_.size.has_value();
    params.size_value = message.data.size();
    params.body_8bitmime = capabilities_.eight_bit_mime && has_8bit(message.data);
    params.smtputf8 =
        capabilities_.smtputf8 && (needs_smtputf8(message) || has_8bit(header_section(message.data)));
    // RFC 3461 5.2: the parameters go on only to a server that offered DSN;
    // to one that did not, the recorder reports NOTIFY=SUCCESS as "relayed".
    const bool dsn = capabilities_.dsn;
    if (dsn) params.dsn = message.dsn;
    std::vector<std::string> commands;
    if (reset_first) commands.push_back("RSET");
    commands.push_back(mail_from_command(message.sender, params));
    for (const auto& r : message.recipients)
        commands.push_back(rcpt_to_command(r.address, dsn ? r.dsn : RecipientDsn{}));
    commands.push_back("DATA");
    return commands;
}

// [RSET,] MAIL, RCPTs and DATA, up to the reply to DATA (with PIPELINING
// in one write, unless that write went already: envelope_sent). Rejected
// recipients get their outcome; accepted ones stay open for the end-of-data
// reply, and data_wanted says whether the data should follow. A refused
// RSET ends the session (what was pipelined behind it is dropped with the
// connection: no "." was sent, so nothing was delivered).
awaitable<SmtpSession::EnvelopeEnd> SmtpSession::send_envelope(const OutgoingMessage& message,
                                                               bool reset_first, bool envelope_sent)
{
    EnvelopeEnd end;
    end.outcomes.resize(message.recipients.size());
    const bool pipelining = capabilities_.pipelining;
    if (envelope_sent) reset_first = false;  // it went behind a completed transaction
    const std::vector<std::string> commands = envelope_commands(message, reset_first);
    const std::size_t mail = reset_first ? 1 : 0;
    if (pipelining && !envelope_sent) {
        WireStatus sent = co_await connection_->send_lines(commands);
        const SmtpStage stage = reset_first ? SmtpStage::rset : SmtpStage::mail;
        if (!sent.ok()) {
            end.error = failure_outcome(stage, sent.failure, sent.detail);
            co_return end;
        }
    }
    WireReply reply;
    if (reset_first) {
        reply = co_await exchange(pipelining, commands.front());
        if ((end.error = unexpected(SmtpStage::rset, reply, 2))) co_return end;
    }
    reply = co_await exchange(pipelining, commands[mail]);
    if ((end.error = closing(SmtpStage::mail, reply))) co_return end;
    const bool mail_ok = reply.reply.positive();
    if (!mail_ok) {
        settle_open(end.outcomes, reply_outcome(SmtpStage::mail, reply.reply));
        if (!pipelining) co_return end;
    }
    for (std::size_t i = 0; i < message.recipients.size(); ++i) {
        reply = co_await exchange(pipelining, commands[mail + 1 + i]);
        if ((end.error = closing(SmtpStage::rcpt, reply))) co_return end;
        if (mail_ok && !reply.reply.positive()) end.outcomes[i] = reply_outcome(SmtpStage::rcpt, reply.reply);
    }
    const bool accepted = any_open(end.outcomes);
    if (!accepted && !pipelining) co_return end;

    reply = co_await exchange(pipelining, commands.back());
    if ((end.error = closing(SmtpStage::data, reply))) co_return end;
    if (reply.reply.code == 354 && !accepted) {
        // Pipelined, every RCPT refused, yet the server wants data: end it empty.
        reply = co_await command(".");
        end.error = closing(SmtpStage::end_of_data, reply);
        co_return end;
    }
    if (reply.reply.code != 354) settle_open(end.outcomes, reply_outcome(SmtpStage::data, reply.reply));
    end.data_wanted = reply.reply.code == 354;
    co_return end;
}

// The reply to a command: already sent in a pipelined group, or sent now.
awaitable<WireReply> SmtpSession::exchange(bool pipelined, std::string line)
{
    if (pipelined) co_return co_await connection_->read_reply();
    co_return co_await command(std::move(line));
}

// The payload and its "." (then the next envelope, if any: then), and the
// reply to the ".".
awaitable<SmtpSession::DataEnd> SmtpSession::send_message_data(const OutgoingMessage& message,
                                                               std::vector<std::string> then)
{
    const bool dot_last = then.empty();
    DataEnd end;
    WireStatus sent = co_await connection_->send_data(to_wire_data(message.data), std::move(then));
    // The write did not complete. With the "." last, it did not leave: not
    // delivered. With an envelope behind it, the "." may have left.
    if (!sent.ok()) {
        end.outcome =
            failure_outcome(dot_last ? SmtpStage::data : SmtpStage::end_of_data, sent.failure, sent.detail);
        end.error = end.outcome;
        co_return end;
    }
    WireReply reply = co_await connection_->read_reply();
    if (!reply.status.ok()) {
        end.outcome = failure_outcome(SmtpStage::end_of_data, reply.status.failure, reply.status.detail);
        end.error = end.outcome;
        co_return end;
    }
    end.outcome = reply_outcome(SmtpStage::end_of_data, reply.reply);
    end.error = closing(SmtpStage::end_of_data, reply);
    co_return end;
}

}  // namespace mailqd
