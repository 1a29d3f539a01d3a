// SMTP submission over the Unix socket (see submit_client.hpp).
#include "cli/submit_client.hpp"

#include <algorithm>

#include "cli/text_format.hpp"
#include "cli/unix_socket.hpp"
#include "spool/smtp_data.hpp"
#include "spool/smtp_reply.hpp"

namespace mailqd {

namespace {

class Session {
public:
    explicit Session(UnixSocket socket, std::chrono::seconds timeout)
        : socket_(std::move(socket)), timeout_(timeout)
    {
    }

    Result<SmtpReply> read_reply()
    {
        SmtpReplyParser parser;
        for (;;) {
            auto line = socket_.read_line(max_reply_line_length, timeout_);
            if (!line) return line.error().context("submit socket");
            switch (parser.feed(*line)) {
                case SmtpReplyParser::Status::more: continue;
                case SmtpReplyParser::Status::done: return parser.take();
                case SmtpReplyParser::Status::error:
                    return make_error(ErrorKind::unavailable, "submit socket: " + parser.error());
            }
        }
    }

    Result<SmtpReply> command(const std::string& line)
    {
        if (auto sent = socket_.write_all(line + "\r\n"); !sent) return sent.error().context("submit socket");
        return read_reply();
    }

    Status send_raw(std::string_view data)
    {
        auto sent = socket_.write_all(data);
        if (!sent) return sent.error().context("submit socket");
        return {};
    }

private:
    UnixSocket socket_;
    std::chrono::seconds timeout_;
};

// An unexpected reply as an Error: 4xx is temporary (try again later), 5xx
// is a refusal of what we sent.
Error reply_error(std::string_view step, const SmtpReply& reply, ErrorKind on_5xx)
{
    ErrorKind kind = reply.transient()   ? ErrorKind::temporary
                     : reply.permanent() ? on_5xx
                                         : ErrorKind::unavailable;
    return make_error(kind, std::string(step) + ": " + reply.to_string());
}

MailParameters mail_parameters(const EhloCapabilities& caps, const std::string& sender,
                               const std::vector<std::string>& recipients, std::string_view data,
                               const SubmitClientOptions& options)
{
    const bool utf8_address =
        has_8bit(sender) ||
        std::any_of(recipients.begin(), recipients.end(), [](const std::string& r) { return has_8bit(r); });
    MailParameters params;
    params.size = caps.size.has_value();
    params.size_value = data.size();
    params.body_8bitmime = caps.eight_bit_mime && has_8bit(data);
    params.smtputf8 = caps.smtputf8 && utf8_address;
    if (caps.dsn) params.dsn = options.dsn;
    return params;
}

// Greeting and EHLO.
Result<EhloCapabilities> open_session(Session& session, const SubmitClientOptions& options)
{
    auto greeting = session.read_reply();
    if (!greeting) return greeting.error();
    // 554 5.7.1 at the greeting: the daemon refuses this user (EX_NOPERM).
    const bool refused = greeting->enhanced.starts_with("5.7.");
    if (greeting->code != 220)
        return reply_error("greeting", *greeting, refused ? ErrorKind::permission : ErrorKind::unavailable);
    auto ehlo = session.command("EHLO " + options.helo);
    if (!ehlo) return ehlo.error();
    if (ehlo->code != 250) return reply_error("EHLO", *ehlo, ErrorKind::unavailable);
    return parse_ehlo(*ehlo);
}

Status send_envelope(Session& session, const std::string& sender, const std::vector<std::string>& recipients,
                     std::string_view data, const EhloCapabilities& caps, const SubmitClientOptions& options)
{
    auto mail =
        session.command(mail_from_command(sender, mail_parameters(caps, sender, recipients, data, options)));
    if (!mail) return mail.error();
    if (mail->code != 250)
        return reply_error("MAIL FROM:<" + printable(sender) + ">", *mail, ErrorKind::bad_message);
    const RecipientDsn rcpt_dsn{caps.dsn ? options.notify : DsnNotify{}, {}};
    for (const auto& rcpt : recipients) {
        auto reply = session.command(rcpt_to_command(rcpt, rcpt_dsn));
        if (!reply) return reply.error();
        if (reply->code != 250 && reply->code != 251)
            return reply_error("RCPT TO:<" + printable(rcpt) + ">", *reply, ErrorKind::bad_message);
    }
    return {};
}

Result<std::string> send_data(Session& session, std::string_view data)
{
    auto start = session.command("DATA");
    if (!start) return start.error();
    if (start->code != 354) return reply_error("DATA", *start, ErrorKind::bad_message);
    if (auto sent = session.send_raw(to_wire_data(data)); !sent) return sent.error();
    auto done = session.read_reply();
    if (!done) return done.error();
    if (done->code != 250) return reply_error("end of DATA", *done, ErrorKind::bad_message);
    std::string id = queue_id_from_reply(done->lines.empty() ? "" : done->lines.back());
    // The message is queued: a reply without an ID must not make the caller
    // submit it again, so the reply itself stands in for the ID.
    return id.empty() ? done->to_string() : id;
}

}  // namespace

std::string queue_id_from_reply(std::string_view text)
{
    constexpr std::string_view marker = "queued as ";
    auto at = text.find(marker);
    if (at == std::string_view::npos) return "";
    std::string_view rest = text.substr(at + marker.size());
    std::string id(rest.substr(0, rest.find_first_of(" \t")));
    return printable(id);
}

Result<std::string> submit_message(const std::filesystem::path& socket, const std::string& sender,
                                   const std::vector<std::string>& recipients, std::string_view data,
                                   const SubmitClientOptions& options)
{
    if (recipients.empty()) return make_error(ErrorKind::bad_message, "no recipients");
    // An address with CR, LF or brackets would inject SMTP commands.
    if (!wire_safe_address(sender))
        return make_error(ErrorKind::bad_message, "bad sender address: " + printable(sender));
    for (const auto& r : recipients)
        if (!wire_safe_address(r) || r.empty())
            return make_error(ErrorKind::bad_message, "bad recipient address: " + printable(r));

    auto connection = UnixSocket::connect(socket);
    if (!connection) return connection.error();
    Session session(std::move(*connection), options.timeout);
    auto ext = open_session(session, options);
    if (!ext) return ext.error();
    if (auto envelope = send_envelope(session, sender, recipients, data, *ext, options); !envelope)
        return envelope.error();
    auto id = send_data(session, data);
    if (id) (void)session.command("QUIT");  // the message is queued whatever QUIT says
    return id;
}

}  // namespace mailqd
