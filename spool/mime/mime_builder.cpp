// compose_message: checks every value a user gave, takes the envelope from
// the addresses, writes the header (encoded where it is not ASCII, folded
// under 78 columns) and puts the rendered body under it.
#include "spool/mime/mime_builder.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "spool/message.hpp"
#include "spool/message_text.hpp"
#include "spool/mime/mime_encoding.hpp"
#include "spool/mime/mime_parts.hpp"

namespace mailqd {

namespace {

// Header injection and terminal garbage: no CR, LF or other controls (tab
// is allowed), and well-formed UTF-8.
Status check_value(std::string_view what, std::string_view value)
{
    for (char c : value) {
        auto b = static_cast<unsigned char>(c);
        if (c == '\r' || c == '\n')
            return make_error(ErrorKind::bad_message,
                              std::string(what) + " contains a line break (CR or LF)");
        if ((b < 0x20 && c != '\t') || b == 0x7f)
            return make_error(ErrorKind::bad_message, std::string(what) + " contains a control character");
    }
    if (!valid_utf8(value))
        return make_error(ErrorKind::bad_message, std::string(what) + " is not valid UTF-8");
    return {};
}

Status check_draft(const MimeDraft& d)
{
    std::vector<std::pair<std::string, std::string_view>> values{{"From", d.from}, {"Subject", d.subject}};
    for (const auto& v : d.to) values.emplace_back("To", v);
    for (const auto& v : d.cc) values.emplace_back("Cc", v);
    for (const auto& v : d.bcc) values.emplace_back("Bcc", v);
    for (const auto& [name, value] : d.headers) {
        values.emplace_back("header name '" + name + "'", name);
        values.emplace_back(name, value);
    }
    for (const auto* files : {&d.attachments, &d.inline_images})
        for (const auto& f : *files) values.emplace_back("file name '" + f.file_name + "'", f.file_name);
    for (const auto& [what, value] : values)
        if (auto s = check_value(what, value); !s) return s;
    if (d.text && !valid_utf8(*d.text))
        return make_error(ErrorKind::bad_message, "the text is not valid UTF-8");
    if (d.html && !valid_utf8(*d.html))
        return make_error(ErrorKind::bad_message, "the HTML is not valid UTF-8");
    return {};
}

bool is_builder_field(std::string_view name)
{
    for (std::string_view own : {"From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "MIME-Version"})
        if (iequals(name, own)) return true;
    return name.size() >= 8 && iequals(name.substr(0, 8), "Content-");
}

Status check_extra_headers(const MimeDraft& d)
{
    for (const auto& [name, value] : d.headers) {
        bool ok = !name.empty() &&
                  std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
        if (!ok) return make_error(ErrorKind::usage, "'" + name + "' is not a header field name");
        if (is_builder_field(name))
            return make_error(ErrorKind::usage,
                              name + ": is written by mailqctl send itself; use its option");
    }
    return {};
}

Result<std::vector<Mailbox>> mailboxes(std::string_view field, const std::vector<std::string>& lists,
                                       const std::string& domain)
{
    std::vector<Mailbox> out;
    for (const auto& list : lists) {
        auto boxes = parse_mailbox_list(list, domain);
        if (!boxes) return boxes.error().context(field);
        out.insert(out.end(), boxes->begin(), boxes->end());
    }
    return out;
}

std::string address_header(std::string_view name, const std::vector<Mailbox>& boxes)
{
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < boxes.size(); ++i) {
        auto words = display_name_pieces(boxes[i].display_name);
        pieces.insert(pieces.end(), words.begin(), words.end());
        std::string address = words.empty() ? boxes[i].address : "<" + boxes[i].address + ">";
        pieces.push_back(address + (i + 1 < boxes.size() ? "," : ""));
    }
    return fold_header(name, pieces);
}

struct Addresses {
    Mailbox from;
    std::vector<Mailbox> to, cc, bcc;
};

Result<Addresses> parse_addresses(const MimeDraft& d)
{
    Addresses a;
    auto from = parse_mailbox_list(d.from, d.hostname);
    if (!from) return from.error().context("From");
    if (from->size() != 1) return make_error(ErrorKind::bad_message, "From: must be exactly one address");
    a.from = from->front();
    for (auto [field, lists, out] : {std::tuple{"To", &d.to, &a.to}, std::tuple{"Cc", &d.cc, &a.cc},
                                     std::tuple{"Bcc", &d.bcc, &a.bcc}}) {
        auto boxes = mailboxes(field, *lists, d.hostname);
        if (!boxes) return boxes.error();
        *out = std::move(*boxes);
    }
    return a;
}

std::vector<std::string> envelope_recipients(const Addresses& a)
{
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto* list : {&a.to, &a.cc, &a.bcc})
        for (const auto& box : *list) {
            auto at = box.address.rfind('@');
            std::string key = box.address.substr(0, at + 1) + ascii_lowercase(box.address.substr(at + 1));
            if (seen.insert(key).second) out.push_back(box.address);
        }
    return out;
}

std::string extra_header(const std::string& name, const std::string& value, const std::string& domain)
{
    // Address fields keep their structure, so only display names are encoded.
    if (iequals(name, "Reply-To") || iequals(name, "Sender")) {
        auto boxes = parse_mailbox_list(value, domain);
        if (boxes) return address_header(name, *boxes);
    }
    return unstructured_header(name, value);
}

std::string header_block(const MimeDraft& d, const Addresses& a)
{
    std::string h = "Date: " + rfc5322_date(d.now) + "\r\n";
    h += address_header("From", {a.from});
    if (!a.to.empty()) h += address_header("To", a.to);
    if (!a.cc.empty()) h += address_header("Cc", a.cc);
    if (a.to.empty() && a.cc.empty()) h += "To: undisclosed-recipients:;\r\n";
    h += unstructured_header("Subject", d.subject);
    h += "Message-ID: " + make_message_id(d.hostname, d.now) + "\r\n";
    h += "MIME-Version: 1.0\r\n";
    for (const auto& [name, value] : d.headers) h += extra_header(name, value, d.hostname);
    return h;
}

}  // namespace

Result<ComposedMessage> compose_message(const MimeDraft& draft)
{
    if (auto s = check_draft(draft); !s) return s.error();
    if (auto s = check_extra_headers(draft); !s) return s.error();
    auto addresses = parse_addresses(draft);
    if (!addresses) return addresses.error();
    ComposedMessage m;
    m.sender = addresses->from.address;
    m.recipients = envelope_recipients(*addresses);
    if (m.recipients.empty()) return make_error(ErrorKind::usage, "no recipients (To, Cc or Bcc)");
    auto body = render_body(draft);
    if (!body) return body.error();
    m.data = header_block(draft, *addresses) + body->headers + "\r\n" + body->content;
    return m;
}

}  // namespace mailqd
