// stdin message -> envelope and data (see submission.hpp).
#include "cli/submission.hpp"

#include <pwd.h>
#include <unistd.h>
#include <algorithm>

#include "spool/message.hpp"
#include "spool/message_text.hpp"

namespace mailqd {

namespace {

Error bad(std::string message) { return make_error(ErrorKind::bad_message, std::move(message)); }

// A header field line ("Name: value") or a continuation (leading WSP).
bool looks_like_header_line(std::string_view line)
{
    if (!line.empty() && is_wsp(line.front())) return true;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    return std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon),
                       [](char c) { return c > 0x20 && c < 0x7f; });
}

// Sendmail's rule: the header ends at the first line that is not a header
// line, which then starts the body. Inserts the empty line the parser needs.
std::string with_header_break(std::string text)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find("\r\n", pos);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        if (line.empty()) return text;  // the header already ends here
        if (!looks_like_header_line(line) || (pos == 0 && is_wsp(line.front()))) {
            text.insert(pos, "\r\n");
            return text;
        }
        pos = end + 2;
    }
    return text;
}

// Local parts compare exactly, domains case-insensitively.
bool same_address(std::string_view a, std::string_view b)
{
    auto at_a = a.rfind('@'), at_b = b.rfind('@');
    return a.substr(0, at_a) == b.substr(0, at_b) &&
           iequals(at_a == std::string_view::npos ? "" : a.substr(at_a),
                   at_b == std::string_view::npos ? "" : b.substr(at_b));
}

void add_unique(std::vector<std::string>& list, std::vector<std::string> more)
{
    for (auto& address : more) {
        bool seen = std::any_of(list.begin(), list.end(),
                                [&](const std::string& a) { return same_address(a, address); });
        if (!seen) list.push_back(std::move(address));
    }
}

Result<std::vector<std::string>> header_recipients(const HeaderBlock& headers, const std::string& hostname)
{
    std::vector<std::string> out;
    for (const char* name : {"To", "Cc", "Bcc"}) {
        for (const HeaderField* field : headers.find_all(name)) {
            if (trim_wsp(field->value).empty()) continue;  // "Bcc:" alone is allowed and common
            auto addresses = parse_address_list(field->value, hostname);
            if (!addresses) return addresses.error().context(std::string(name) + " header");
            add_unique(out, std::move(*addresses));
        }
    }
    return out;
}

// The envelope sender: -f, else (mailqctl submit) Sender:/From:, else the
// invoking user.
Result<std::string> choose_sender(const HeaderBlock& headers, const SubmitRequest& request,
                                  const LocalIdentity& me)
{
    if (request.sender) {
        if (trim_wsp(*request.sender).empty()) return std::string();  // -f '' : the null sender, as "<>"
        auto sender = parse_mailbox(*request.sender, true, me.hostname);
        if (!sender) return sender.error().context("sender");
        return *sender;
    }
    if (request.sender_from_headers) {
        for (const char* name : {"Sender", "From"}) {
            const HeaderField* field = headers.find(name);
            if (field == nullptr) continue;
            auto addresses = parse_address_list(field->value, me.hostname);
            if (!addresses) return addresses.error().context(std::string(name) + " header");
            if (!addresses->empty()) return addresses->front();
        }
    }
    return me.user + "@" + me.hostname;
}

Result<std::vector<std::string>> choose_recipients(const HeaderBlock& headers, const SubmitRequest& request,
                                                   const LocalIdentity& me)
{
    std::vector<std::string> recipients;
    for (const auto& arg : request.recipients) {
        auto parsed = parse_recipient_argument(arg, me.hostname);
        if (!parsed) return parsed.error();
        add_unique(recipients, std::move(*parsed));
    }
    if (request.recipients_from_headers) {
        auto from_headers = header_recipients(headers, me.hostname);
        if (!from_headers) return from_headers.error();
        add_unique(recipients, std::move(*from_headers));
    }
    if (recipients.empty())
        return bad(request.recipients_from_headers ? "no recipients in To:, Cc: or Bcc:" : "no recipients");
    return recipients;
}

bool needs_quoting(std::string_view name)
{
    return std::any_of(name.begin(), name.end(), [](char c) {
        return !(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' ||
                 std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos);
    });
}

std::string base64(std::string_view in)
{
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        unsigned n = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
        out += table[(n >> 18) & 63];
        out += table[(n >> 12) & 63];
        out += i + 1 < in.size() ? table[(n >> 6) & 63] : '=';
        out += i + 2 < in.size() ? table[n & 63] : '=';
    }
    return out;
}

}  // namespace

LocalIdentity local_identity(std::string hostname)
{
    LocalIdentity me;
    me.hostname = std::move(hostname);
    uid_t uid = getuid();
    if (passwd* pw = getpwuid(uid); pw != nullptr && pw->pw_name != nullptr)
        me.user = pw->pw_name;
    else
        me.user = "uid" + std::to_string(uid);
    return me;
}

Result<std::vector<std::string>> parse_recipient_argument(std::string_view text, const std::string& hostname)
{
    auto addresses = parse_address_list(text, hostname);
    if (!addresses) return addresses.error().context("recipient");
    return addresses;
}

std::string make_from_header(const std::string& address, std::string_view full_name)
{
    std::string name;
    for (char c : full_name)  // no header injection through -F
        if (c != '\r' && c != '\n') name += c;
    name = std::string(trim_wsp(name));
    if (name.empty()) return "From: " + address + "\r\n";
    bool ascii =
        std::none_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (!ascii) return "From: =?UTF-8?B?" + base64(name) + "?= <" + address + ">\r\n";
    if (needs_quoting(name)) {
        std::string quoted = "\"";
        for (char c : name) {
            if (c == '"' || c == '\\') quoted += '\\';
            quoted += c;
        }
        name = quoted + "\"";
    }
    return "From: " + name + " <" + address + ">\r\n";
}

std::string read_message(std::istream& in, bool dot_ends)
{
    std::string text;
    std::string line;
    while (std::getline(in, line)) {
        bool complete = !in.eof();  // getline stopped at a newline
        if (dot_ends && (line == "." || line == ".\r")) break;
        text += line;
        if (complete) text += '\n';
    }
    return text;
}

Result<Submission> prepare_submission(std::string_view raw, const SubmitRequest& request,
                                      const LocalIdentity& me)
{
    std::string text = normalize_crlf(raw);
    if (request.lenient_headers) text = with_header_break(std::move(text));
    auto headers = parse_headers(text);
    if (!headers) return headers.error().context("message header");

    Submission out;
    auto sender = choose_sender(*headers, request, me);
    if (!sender) return sender.error();
    out.sender = std::move(*sender);
    auto recipients = choose_recipients(*headers, request, me);
    if (!recipients) return recipients.error();
    out.recipients = std::move(*recipients);

    // Bcc goes before From is added: the field ranges are of text as parsed.
    // Removed also when the recipients were given as arguments (sendmail
    // a@x), as Postfix does: whoever it names must stay hidden either way.
    remove_header_fields(text, *headers, "Bcc");
    if (request.add_from && headers->find("From") == nullptr) {
        std::string from = out.sender.empty() ? me.user + "@" + me.hostname : out.sender;
        text.insert(0, make_from_header(from, request.full_name));
    }
    // Date and Message-ID are the daemon's to add (its Intake prepares
    // every message once, whatever the door).
    out.data = std::move(text);
    return out;
}

}  // namespace mailqd
