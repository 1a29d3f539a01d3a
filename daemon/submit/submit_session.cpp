// One ESMTP/LMTP conversation of the submit door; see submit_session.hpp.
#include "daemon/submit/submit_session.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

#include "spool/message.hpp"
#include "spool/smtp_data.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

// Error text from the store or a header parser goes back to the client on
// one line: no control characters, bounded length.
std::string reply_text(std::string_view text) { return one_line(text, 400); }

// A recipient named twice is queued once, with the DSN parameters it was
// first given.
void add_unique_recipients(NewMessage& message, const std::vector<std::string>& recipients,
                           const std::vector<RecipientDsn>& dsn)
{
    const bool any_dsn =
        std::any_of(dsn.begin(), dsn.end(), [](const RecipientDsn& d) { return d != RecipientDsn{}; });
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const auto& address = recipients[i];
        if (std::find(message.recipients.begin(), message.recipients.end(), address) !=
            message.recipients.end())
            continue;
        message.recipients.push_back(address);
        if (any_dsn) message.recipient_dsn.push_back(dsn[i]);
    }
}

}  // namespace

SubmitSession::SubmitSession(std::shared_ptr<Transport> stream, SessionParams params)
    : stream_(std::move(stream)), params_(std::move(params))
{
}

void SubmitSession::reply(std::string_view line)
{
    out_.append(line);
    out_.append("\r\n");
}

void SubmitSession::reply_error(std::string_view line)
{
    ++errors_;
    reply(line);
}

awaitable<bool> SubmitSession::flush()
{
    if (out_.empty()) co_return true;
    IoResult written = co_await stream_->write(out_);
    out_.clear();
    if (!written.ok())
        spdlog::debug("submit: {} client: write failed: {}", params_.submitter, written.detail);
    co_return written.ok();
}

awaitable<void> SubmitSession::hang_up(std::string_view line)
{
    reply(line);
    co_await flush();
    stream_->close();
}

void SubmitSession::reset_transaction()
{
    have_mail_ = false;
    sender_.clear();
    dsn_ = {};
    recipients_.clear();
    recipient_dsn_.clear();
}

awaitable<void> SubmitSession::run()
{
    const auto& host = params_.options.hostname;
    reply("220 " + host + " ESMTP mailqd");
    while (stream_->is_open()) {
        // Replies to pipelined commands go out together, when the client
        // has nothing more queued up and waits for them, or when they pile
        // up (a client that writes without reading then stalls our write
        // and meets the timeout instead of growing our memory).
        if ((!stream_->has_buffered_line() || out_.size() > max_pending_replies) && !co_await flush())
            co_return;
        std::string line;
        const IoStatus status = (co_await stream_->read_line(line, LineLimit{max_command_line})).status;
        if (status == IoStatus::timeout && stream_->session_expired()) {
            spdlog::debug("submit: {} client: session too long", params_.submitter);
            co_return co_await hang_up("421 4.4.2 " + host + " Error: session time limit exceeded");
        }
        if (status == IoStatus::timeout) {
            spdlog::debug("submit: {} client: timeout", params_.submitter);
            co_return co_await hang_up("421 4.4.2 " + host + " Error: timeout exceeded");
        }
        if (status == IoStatus::too_long) {
            spdlog::debug("submit: {} client: command line too long", params_.submitter);
            co_return co_await hang_up("421 4.7.0 " + host + " Error: line too long");
        }
        if (status != IoStatus::ok) co_return;
        crlf_client_ = crlf_client_ || stream_->last_line_ended_crlf();
        if (co_await dispatch(parse_submit_command(line)) == Next::hang_up) co_return;
        if (errors_ >= max_errors) {
            spdlog::debug("submit: {} client: too many errors", params_.submitter);
            co_return co_await hang_up("421 4.7.0 " + host + " Error: too many errors");
        }
    }
}

awaitable<SubmitSession::Next> SubmitSession::dispatch(const SubmitCommand& cmd)
{
    if (!cmd.error.empty() && cmd.verb != SubmitVerb::unknown) {
        reply_error("501 5.5.4 " + cmd.error);
        co_return Next::proceed;
    }
    switch (cmd.verb) {
        case SubmitVerb::ehlo:
        case SubmitVerb::helo:
        case SubmitVerb::lhlo: on_hello(cmd); break;
        case SubmitVerb::mail: on_mail(cmd); break;
        case SubmitVerb::rcpt: on_rcpt(cmd); break;
        case SubmitVerb::data: co_return co_await on_data();
        case SubmitVerb::rset:
            reset_transaction();
            reply("250 2.0.0 Ok");
            break;
        case SubmitVerb::noop: reply("250 2.0.0 Ok"); break;
        case SubmitVerb::vrfy: reply("252 2.0.0 Cannot VRFY user, but will accept message"); break;
        case SubmitVerb::help:
            reply("214 2.0.0 Commands: EHLO HELO LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
            break;
        case SubmitVerb::quit: co_await hang_up("221 2.0.0 Bye"); co_return Next::hang_up;
        case SubmitVerb::unknown: reply_error("500 5.5.2 Syntax error, command unrecognized"); break;
    }
    co_return Next::proceed;
}

void SubmitSession::on_hello(const SubmitCommand& cmd)
{
    reset_transaction();
    greeted_ = true;
    // The greeting decides the protocol: LHLO is LMTP, EHLO/HELO are SMTP.
    lmtp_ = cmd.verb == SubmitVerb::lhlo;
    const auto& host = params_.options.hostname;
    if (cmd.verb == SubmitVerb::helo) {
        reply("250 " + host);
        return;
    }
    reply("250-" + host);
    reply("250-PIPELINING");
    reply("250-SIZE " + std::to_string(params_.options.max_message_size));
    reply("250-8BITMIME");
    reply("250-SMTPUTF8");
    reply("250-DSN");
    reply("250 ENHANCEDSTATUSCODES");
}

void SubmitSession::count(Refused why)
{
    if (params_.refusals) params_.refusals->add(why);
}

bool SubmitSession::over_user_rate(bool take)
{
    if (!params_.rate) return false;
    if (take ? params_.rate->take(params_.uid) : params_.rate->allows(params_.uid)) return false;
    spdlog::warn("submit: {}: over submit.user_rate ({} messages a minute)", params_.submitter,
                 params_.rate->limit());
    count(Refused::rate);
    return true;
}

std::string SubmitSession::user_rate_text() const
{
    return "user " + params_.submitter + " sent " + std::to_string(params_.rate->limit()) +
           " messages in the last minute (submit.user_rate), try again later";
}

void SubmitSession::on_mail(const SubmitCommand& cmd)
{
    if (!greeted_) return reply_error("503 5.5.1 Error: send EHLO, HELO or LHLO first");
    if (have_mail_) return reply_error("503 5.5.1 Error: nested MAIL command");
    // Not an error of the client's conversation: it may wait and try again.
    if (over_user_rate(false)) return reply("451 4.7.1 " + user_rate_text());
    if (cmd.size && *cmd.size > params_.options.max_message_size)
        return reply_error("552 5.3.4 Message size exceeds fixed limit");
    if (!cmd.argument.empty() && !valid_address(cmd.argument))
        return reply_error("501 5.1.7 Bad sender address syntax");
    have_mail_ = true;
    sender_ = cmd.argument;
    dsn_ = cmd.dsn;
    reply("250 2.1.0 Ok");
}

void SubmitSession::on_rcpt(const SubmitCommand& cmd)
{
    if (!have_mail_) return reply_error("503 5.5.1 Error: need MAIL command");
    // Not counted as an error: a big mailing legitimately hits it repeatedly.
    if (recipients_.size() >= max_recipients) return reply("452 4.5.3 Too many recipients");
    if (!valid_address(cmd.argument)) return reply_error("501 5.1.3 Bad recipient address syntax");
    recipients_.push_back(cmd.argument);
    recipient_dsn_.push_back(cmd.rcpt_dsn);
    reply("250 2.1.5 Ok");
}

awaitable<SubmitSession::Next> SubmitSession::on_data()
{
    if (!have_mail_)
        reply_error("503 5.5.1 Error: need MAIL command");
    else if (recipients_.empty())
        reply_error("503 5.5.1 Error: need RCPT command");
    if (!have_mail_ || recipients_.empty()) co_return Next::proceed;

    reply("354 End data with <CR><LF>.<CR><LF>");
    if (!co_await flush()) co_return Next::hang_up;
    std::string raw;
    Refusal refusal = Refusal::none;
    DataClaim claim(params_.budget, params_.uid);  // held until the commit is answered
    IoResult received = co_await receive_data(raw, refusal, claim);
    if (received.status == IoStatus::timeout) {
        // Nothing half-received is queued: the transaction is dropped.
        co_await hang_up("421 4.4.2 " + params_.options.hostname + " Error: timeout exceeded");
        co_return Next::hang_up;
    }
    if (!received.ok()) {
        spdlog::debug("submit: {} client: DATA ended early: {}", params_.submitter, received.detail);
        stream_->close();
        co_return Next::hang_up;
    }
    switch (refusal) {
        case Refusal::none: co_await commit(std::move(raw)); break;
        case Refusal::too_big:
            count(Refused::too_big);
            reply_each_recipient("552", "5.3.4", "Message size exceeds fixed limit");
            break;
        case Refusal::header_line:
            count(Refused::header_line);
            reply_each_recipient("554", "5.6.0", "Message header line longer than 998 characters (RFC 5322)");
            break;
        case Refusal::no_memory:
            spdlog::warn("submit: {} client: message refused for now: the door's memory budget is in use",
                         params_.submitter);
            count(Refused::no_memory);
            reply_each_recipient("451", "4.3.1", "Insufficient system resources, try again later");
            break;
    }
    reset_transaction();
    co_return Next::proceed;
}

// Reads DATA to its end (DataDecoder), keeping the text while it fits
// max_message_size, the header line limit and the door's budget; past any
// of them it reads on to the end without keeping anything, so the client's
// next command is not taken from the middle of its message. Each read has
// the timeout; the whole DATA has the timeout plus its bytes at
// min_data_rate.
awaitable<IoResult> SubmitSession::receive_data(std::string& raw, Refusal& refusal, DataClaim& claim)
{
    const std::uint64_t max_size = params_.options.max_message_size;
    const Duration timeout = params_.options.timeout;
    const auto started = Transport::Clock::now();
    DataDecoder decoder(crlf_client_);
    std::uint64_t received = 0;
    while (true) {
        if (const std::string_view input = stream_->buffered(); !input.empty()) {
            const bool keep = refusal == Refusal::none;
            const std::size_t used = decoder.feed(input, keep ? &raw : nullptr);
            stream_->consume(used);
            received += used;
            if (keep) {
                if (decoder.header_line_too_long())
                    refusal = Refusal::header_line;
                else if (raw.size() > max_size)
                    refusal = Refusal::too_big;
                else if (!claim.cover(raw.capacity()))
                    refusal = Refusal::no_memory;
                if (refusal != Refusal::none) {
                    std::string().swap(raw);
                    claim.release();
                }
            }
            if (decoder.done()) co_return IoResult{};
            continue;
        }
        const auto deadline = started + timeout + std::chrono::seconds(received / min_data_rate);
        const Duration left = deadline - Transport::Clock::now();
        if (left <= Duration::zero())
            co_return IoResult{IoStatus::timeout, "DATA slower than the minimum rate"};
        IoResult more = co_await stream_->fill(std::min(timeout, left));
        if (!more.ok()) co_return more;
    }
}

void SubmitSession::reply_each_recipient(std::string_view code, std::string_view enhanced,
                                         std::string_view text)
{
    auto line = [&](std::string_view rcpt) {
        std::string out = std::string(code) + " " + std::string(enhanced) + " ";
        if (!rcpt.empty()) out += "<" + std::string(rcpt) + "> ";
        return out + std::string(text);
    };
    if (!lmtp_) return reply(line({}));
    // LMTP (RFC 2033 4.2): one reply per accepted RCPT, in order.
    for (const auto& rcpt : recipients_) reply(line(rcpt));
}

awaitable<void> SubmitSession::commit(std::string raw)
{
    // Checked again, and taken: the user's other sessions may have used the
    // minute's allowance while this one was receiving.
    if (over_user_rate(true)) co_return reply_each_recipient("451", "4.7.1", user_rate_text());
    NewMessage message;
    message.sender = sender_;
    message.dsn = dsn_;
    add_unique_recipients(message, recipients_, recipient_dsn_);
    message.data = std::move(raw);
    message.submitter = params_.submitter;
    message.door = params_.door;
    std::optional<Result<std::string>> result;
    try {
        result.emplace(co_await (*params_.accept)(std::move(message)));
    } catch (const std::exception& e) {
        spdlog::error("submit: committing a message failed: {}", e.what());
        result.emplace(make_error(ErrorKind::temporary, "internal error"));
    }
    if (result->ok())
        co_return reply_each_recipient("250", lmtp_ ? "2.1.5" : "2.0.0", "Ok: queued as " + result->value());
    if (params_.rate) params_.rate->give_back(params_.uid);
    const Error& error = result->error();
    spdlog::warn("submit: {} client: message not queued: {}", params_.submitter, reply_text(error.message));
    // Only the message's own fault is permanent: a local fault is never a
    // 5xx, which would make cron and PHP drop the mail.
    if (error.kind == ErrorKind::bad_message)
        reply_each_recipient("554", "5.6.0", reply_text(error.message));
    else
        reply_each_recipient("451", "4.3.0", reply_text(error.message));
}

}  // namespace mailqd
