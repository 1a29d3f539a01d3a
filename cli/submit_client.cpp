// SMTP submission over the Unix socket (see submit_client.hpp).
#include "cli/submit_client.hpp"

#include <algorithm>
#include <cctype>

#include "cli/text_format.hpp"
#include "cli/unix_socket.hpp"

namespace mailqd {

namespace {

// RFC 5321 allows 512 octets; a little slack for chatty servers.
constexpr std::size_t max_reply_line = 4096;
constexpr int max_reply_lines = 100;

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

struct Reply {
    int code = 0;
    std::vector<std::string> lines;  // text after "NNN-" / "NNN "

    std::string text() const  // "550 5.1.1 no such user" (lines joined)
    {
        std::string out = std::to_string(code);
        for (const auto& l : lines)
            out += " " + l;
        return sanitize(out);
    }
};

class Session {
public:
    explicit Session(UnixSocket socket, std::chrono::seconds timeout)
        : socket_(std::move(socket)), timeout_(timeout) {}

    Result<Reply> read_reply()
    {
        Reply reply;
        for (int n = 0; n < max_reply_lines; ++n) {
            auto line = socket_.read_line(max_reply_line, timeout_);
            if (!line)
                return line.error().context("submit socket");
            if (line->size() < 3 || !std::all_of(line->begin(), line->begin() + 3, is_digit)
                || (line->size() > 3 && (*line)[3] != '-' && (*line)[3] != ' '))
                return make_error(ErrorKind::unavailable,
                                  "submit socket: not an SMTP reply: " + sanitize(*line));
            reply.code = std::stoi(line->substr(0, 3));
            reply.lines.push_back(line->size() > 4 ? line->substr(4) : "");
            if (line->size() == 3 || (*line)[3] == ' ')
                return reply;
        }
        return make_error(ErrorKind::unavailable, "submit socket: reply too long");
    }

    Result<Reply> command(const std::string& line)
    {
        if (auto sent = socket_.write_all(line + "\r\n"); !sent)
            return sent.error().context("submit socket");
        return read_reply();
    }

    Status send_raw(std::string_view data)
    {
        auto sent = socket_.write_all(data);
        if (!sent)
            return sent.error().context("submit socket");
        return {};
    }

private:
    UnixSocket socket_;
    std::chrono::seconds timeout_;
};

// An unexpected reply as an Error: 4xx is temporary (try again later), 5xx
// is a refusal of what we sent.
Error reply_error(std::string_view step, const Reply& reply, ErrorKind on_5xx)
{
    ErrorKind kind = reply.code >= 400 && reply.code < 500 ? ErrorKind::temporary
                     : reply.code >= 500                   ? on_5xx
                                                           : ErrorKind::unavailable;
    return make_error(kind, std::string(step) + ": " + reply.text());
}

struct Extensions {
    bool eight_bit = false, smtputf8 = false, size = false;
};

Extensions parse_ehlo(const Reply& reply)
{
    Extensions ext;
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        std::string word = reply.lines[i].substr(0, reply.lines[i].find(' '));
        std::transform(word.begin(), word.end(), word.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        ext.eight_bit |= word == "8BITMIME";
        ext.smtputf8 |= word == "SMTPUTF8";
        ext.size |= word == "SIZE";
    }
    return ext;
}

bool has_8bit(std::string_view text)
{
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::string mail_from_line(const std::string& sender, const std::vector<std::string>& recipients,
                           std::string_view data, const Extensions& ext)
{
    std::string line = "MAIL FROM:<" + sender + ">";
    if (ext.size)
        line += " SIZE=" + std::to_string(data.size());
    if (ext.eight_bit && has_8bit(data))
        line += " BODY=8BITMIME";
    bool utf8_address = has_8bit(sender)
                        || std::any_of(recipients.begin(), recipients.end(),
                                       [](const std::string& r) { return has_8bit(r); });
    if (ext.smtputf8 && utf8_address)
        line += " SMTPUTF8";
    return line;
}

// Greeting and EHLO.
Result<Extensions> open_session(Session& session, const SubmitClientOptions& options)
{
    auto greeting = session.read_reply();
    if (!greeting)
        return greeting.error();
    // 554 5.7.1 at the greeting: the daemon refuses this user (EX_NOPERM).
    const bool refused = !greeting->lines.empty() && greeting->lines[0].starts_with("5.7.");
    if (greeting->code != 220)
        return reply_error("greeting", *greeting, refused ? ErrorKind::permission : ErrorKind::unavailable);
    auto ehlo = session.command("EHLO " + options.helo);
    if (!ehlo)
        return ehlo.error();
    if (ehlo->code != 250)
        return reply_error("EHLO", *ehlo, ErrorKind::unavailable);
    return parse_ehlo(*ehlo);
}

Status send_envelope(Session& session, const std::string& sender,
                     const std::vector<std::string>& recipients, std::string_view data,
                     const Extensions& ext)
{
    auto mail = session.command(mail_from_line(sender, recipients, data, ext));
    if (!mail)
        return mail.error();
    if (mail->code != 250)
        return reply_error("MAIL FROM:<" + sanitize(sender) + ">", *mail, ErrorKind::bad_message);
    for (const auto& rcpt : recipients) {
        auto reply = session.command("RCPT TO:<" + rcpt + ">");
        if (!reply)
            return reply.error();
        if (reply->code != 250 && reply->code != 251)
            return reply_error("RCPT TO:<" + sanitize(rcpt) + ">", *reply, ErrorKind::bad_message);
    }
    return {};
}

Result<std::string> send_data(Session& session, std::string_view data)
{
    auto start = session.command("DATA");
    if (!start)
        return start.error();
    if (start->code != 354)
        return reply_error("DATA", *start, ErrorKind::bad_message);
    if (auto sent = session.send_raw(smtp_data_payload(data)); !sent)
        return sent.error();
    auto done = session.read_reply();
    if (!done)
        return done.error();
    if (done->code != 250)
        return reply_error("end of DATA", *done, ErrorKind::bad_message);
    std::string id = queue_id_from_reply(done->lines.empty() ? "" : done->lines.back());
    // The message is queued: a reply without an ID must not make the caller
    // submit it again, so the reply itself stands in for the ID.
    return id.empty() ? done->text() : id;
}

bool is_line_safe(const std::string& address)
{
    return address.find_first_of("\r\n<>") == std::string::npos;
}

}  // namespace

std::string smtp_data_payload(std::string_view message)
{
    std::string out;
    out.reserve(message.size() + message.size() / 50 + 8);
    bool line_start = true;
    for (std::size_t i = 0; i < message.size(); ++i) {
        char c = message[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n')
                ++i;
            out += "\r\n";
            line_start = true;
            continue;
        }
        if (line_start && c == '.')
            out += '.';
        out += c;
        line_start = false;
    }
    if (!line_start)
        out += "\r\n";
    out += ".\r\n";
    return out;
}

std::string queue_id_from_reply(std::string_view text)
{
    constexpr std::string_view marker = "queued as ";
    auto at = text.find(marker);
    if (at == std::string_view::npos)
        return "";
    std::string_view rest = text.substr(at + marker.size());
    std::string id(rest.substr(0, rest.find_first_of(" \t")));
    return sanitize(id);
}

Result<std::string> submit_message(const std::filesystem::path& socket, const std::string& sender,
                                   const std::vector<std::string>& recipients,
                                   std::string_view data, const SubmitClientOptions& options)
{
    if (recipients.empty())
        return make_error(ErrorKind::bad_message, "no recipients");
    // An address with CR, LF or brackets would inject SMTP commands.
    if (!is_line_safe(sender))
        return make_error(ErrorKind::bad_message, "bad sender address: " + sanitize(sender));
    for (const auto& r : recipients)
        if (!is_line_safe(r) || r.empty())
            return make_error(ErrorKind::bad_message, "bad recipient address: " + sanitize(r));

    auto connection = UnixSocket::connect(socket);
    if (!connection)
        return connection.error();
    Session session(std::move(*connection), options.timeout);
    auto ext = open_session(session, options);
    if (!ext)
        return ext.error();
    if (auto envelope = send_envelope(session, sender, recipients, data, *ext); !envelope)
        return envelope.error();
    auto id = send_data(session, data);
    if (id)
        (void)session.command("QUIT");  // the message is queued whatever QUIT says
    return id;
}

}  // namespace mailqd
