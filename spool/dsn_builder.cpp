#include "spool/dsn_builder.hpp"

#include <cctype>
#include <random>

#include "spool/message.hpp"
#include "spool/smtp_data.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

// What a DSN quotes is capped: a server's reply can run to hundreds of KB,
// and a bounce quotes it twice per recipient. 900 keeps "Diagnostic-Code:
// smtp; " plus the reply inside RFC 5322's 998-character line.
constexpr std::size_t kMaxQuotedReply = 900;
// Postfix's header_size_limit: more header than this is not worth returning.
constexpr std::size_t kMaxQuotedHeader = 102400;

bool is_enhanced_code(std::string_view word)
{
    // class.subject.detail: [245].[0-9]{1,3}.[0-9]{1,3}
    if (word.size() < 5 || (word[0] != '2' && word[0] != '4' && word[0] != '5') || word[1] != '.')
        return false;
    int dots = 0;
    for (char c : word.substr(1)) {
        if (c == '.')
            ++dots;
        else if (!std::isdigit(static_cast<unsigned char>(c)))
            return false;
    }
    return dots == 2 && word.back() != '.';
}

std::string boundary_for(std::string_view queue_id)
{
    std::random_device random;
    return std::string(queue_id) + "/" + std::to_string(random()) + "/report";
}

std::string original_header(std::string_view message)
{
    auto headers = parse_headers(message);
    std::size_t end = headers ? headers->body_offset : message.size();
    if (end > kMaxQuotedHeader) {
        // Cut after the last whole line that fits.
        const std::size_t line_end = message.rfind("\r\n", kMaxQuotedHeader - 2);
        end = line_end == std::string_view::npos ? 0 : line_end + 2;
    }
    std::string out(message.substr(0, end));
    // Drop the blank line that separates header and body: the part adds its own.
    while (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0 &&
           (out.size() == 2 || out.compare(out.size() - 4, 4, "\r\n\r\n") == 0))
        out.resize(out.size() - 2);
    return out;
}

std::string human_part(const DsnInput& in)
{
    std::string text = "This is the mail system at host " + in.hostname + ".\r\n\r\n";
    if (in.action == DsnAction::relayed)
        text +=
            "Your message was relayed to the recipients below, as you asked to be told.\r\n"
            "The relay does not report delivery status, so no further notice of success\r\n"
            "will come; systems beyond it may still report a failure.\r\n\r\n";
    else
        text +=
            "Your message could not be delivered to one or more recipients.\r\n"
            "It is attached below with the reason for each recipient.\r\n\r\n";
    for (const auto& r : in.recipients)
        text += "<" + r.address + ">: " + one_line(r.reply, kMaxQuotedReply) + "\r\n";
    return text;
}

std::string status_part(const DsnInput& in)
{
    // RFC 3464 2.2: Original-Envelope-Id first; 2.3: Original-Recipient
    // before Final-Recipient. Both were checked printable ASCII on the way in.
    std::string text;
    if (!in.dsn.envid.empty())
        text += "Original-Envelope-Id: " + one_line(in.dsn.envid, max_envid_length) + "\r\n";
    text += "Reporting-MTA: dns; " + in.hostname + "\r\nX-Mailqd-Queue-ID: " + in.queue_id +
            "\r\nArrival-Date: " + rfc5322_date(in.arrival) + "\r\n";
    const char* action = in.action == DsnAction::relayed ? "relayed" : "failed";
    for (const auto& r : in.recipients) {
        text += "\r\n";
        if (!r.orcpt.empty()) text += "Original-Recipient: " + one_line(r.orcpt, max_orcpt_length) + "\r\n";
        text += "Final-Recipient: rfc822; " + r.address + "\r\nAction: " + action +
                "\r\nStatus: " + status_from_reply(r.reply) + "\r\n";
        if (!r.remote_mta.empty()) text += "Remote-MTA: dns; " + r.remote_mta + "\r\n";
        const std::string reply = one_line(r.reply, kMaxQuotedReply);
        if (reply.size() >= 3 && std::isdigit(static_cast<unsigned char>(reply[0])))
            text += "Diagnostic-Code: smtp; " + reply + "\r\n";
        else
            text += "Diagnostic-Code: X-mailqd; " + reply + "\r\n";
        text += "Last-Attempt-Date: " + rfc5322_date(in.now) + "\r\n";
    }
    return text;
}

// The third part: the whole message when a failure report may return it
// (RET=FULL, RFC 3461 4.3; a success report never does), else its header
// (RFC 6522's text/rfc822-headers), which is also what RET=HDRS and no RET
// get.
std::string returned_part(const DsnInput& in)
{
    const bool full = in.action == DsnAction::failed && in.dsn.ret == DsnRet::full &&
                      in.original.size() <= max_returned_message;
    if (!full) {
        const char* what =
            in.action == DsnAction::relayed ? "Message Headers" : "Undelivered Message Headers";
        return std::string("Content-Type: text/rfc822-headers\r\nContent-Description: ") + what + "\r\n\r\n" +
               original_header(in.original) + "\r\n";
    }
    std::string part = "Content-Type: message/rfc822\r\nContent-Description: Undelivered Message\r\n";
    if (has_8bit(in.original)) part += "Content-Transfer-Encoding: 8bit\r\n";
    part += "\r\n";
    part += in.original;
    if (!part.ends_with("\r\n")) part += "\r\n";
    return part + "\r\n";  // the delimiter's own CRLF: the message keeps its last line end
}

}  // namespace

std::string status_from_reply(std::string_view reply)
{
    std::size_t space = reply.find(' ');
    if (space != std::string_view::npos) {
        std::string_view rest = reply.substr(space + 1);
        std::string_view word = rest.substr(0, rest.find(' '));
        if (is_enhanced_code(word)) return std::string(word);
    }
    if (!reply.empty() && reply[0] == '4') return "4.0.0";
    if (!reply.empty() && reply[0] == '2') return "2.0.0";
    return "5.0.0";
}

NewMessage build_dsn(const DsnInput& in)
{
    const std::string boundary = boundary_for(in.queue_id);
    std::string data = "Date: " + rfc5322_date(in.now) +
                       "\r\n"
                       "From: Mail Delivery System <MAILER-DAEMON@" +
                       in.hostname +
                       ">\r\n"
                       "To: <" +
                       in.original_sender +
                       ">\r\n"
                       "Subject: " +
                       (in.action == DsnAction::relayed ? "Successful Mail Delivery Report"
                                                        : "Undelivered Mail Returned to Sender") +
                       "\r\n"
                       "Message-ID: " +
                       make_message_id(in.hostname, in.now) +
                       "\r\n"
                       "Auto-Submitted: auto-replied\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                       "\tboundary=\"" +
                       boundary +
                       "\"\r\n"
                       "\r\n"
                       "This is a MIME-encapsulated message.\r\n"
                       "\r\n--" +
                       boundary +
                       "\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Description: Notification\r\n\r\n" +
                       human_part(in) + "\r\n--" + boundary +
                       "\r\n"
                       "Content-Type: message/delivery-status\r\n"
                       "Content-Description: Delivery report\r\n\r\n" +
                       status_part(in) + "\r\n--" + boundary + "\r\n" + returned_part(in) + "--" + boundary +
                       "--\r\n";

    NewMessage bounce;
    bounce.sender = "";
    bounce.recipients = {in.original_sender};
    bounce.data = std::move(data);
    bounce.submitter = "mailqd";
    bounce.door = "bounce";
    return bounce;
}

}  // namespace mailqd
