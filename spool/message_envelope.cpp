// The envelope taken from a message's own header (spool door, sendmail -t,
// mailqctl submit without recipients), and the last touches every queued
// message gets: Bcc: cut out, Date: and Message-ID: added when missing.
// Works on CRLF-normalised text; trusts nothing in it.
#include <set>

#include "spool/message.hpp"
#include "spool/message_text.hpp"

namespace mailqd {

namespace {

// Local part compared exactly, domain case-insensitively (RFC 5321 2.4).
std::string dedup_key(const std::string& address)
{
    auto at = address.rfind('@');
    if (at == std::string::npos) return address;
    return address.substr(0, at + 1) + ascii_lowercase(address.substr(at + 1));
}

Result<std::vector<std::string>> field_addresses(const HeaderField& field, std::string_view default_domain)
{
    auto list = parse_address_list(field.value, default_domain);
    if (!list) return list.error().context(field.name);
    return list;
}

Result<std::string> header_sender(const HeaderBlock& headers, std::string_view default_domain)
{
    for (const char* name : {"Sender", "From"}) {
        const HeaderField* field = headers.find(name);
        if (!field) continue;
        auto list = field_addresses(*field, default_domain);
        if (!list) return list.error();
        if (!list->empty()) return list->front();
    }
    return std::string();
}

}  // namespace

Result<Envelope> envelope_from_headers(const HeaderBlock& headers, std::string_view default_domain)
{
    Envelope envelope;
    auto sender = header_sender(headers, default_domain);
    if (!sender) return sender.error();
    envelope.sender = std::move(*sender);

    std::set<std::string> seen;
    for (const auto& field : headers.fields) {
        if (!iequals(field.name, "To") && !iequals(field.name, "Cc") && !iequals(field.name, "Bcc")) continue;
        auto list = field_addresses(field, default_domain);
        if (!list) return list.error();
        for (auto& address : *list)
            if (seen.insert(dedup_key(address)).second) envelope.recipients.push_back(std::move(address));
    }
    if (envelope.recipients.empty())
        return make_error(ErrorKind::bad_message, "no recipients in To:, Cc: or Bcc:");
    return envelope;
}

// By their byte ranges, back to front, so the earlier ranges stay right.
void remove_header_fields(std::string& message, const HeaderBlock& headers, std::string_view name)
{
    auto fields = headers.find_all(name);
    for (auto it = fields.rbegin(); it != fields.rend(); ++it)
        message.erase((*it)->begin, (*it)->end - (*it)->begin);
}

Result<std::string> prepare_for_queue(std::string raw, const PrepareOptions& options)
{
    std::string message = is_crlf_normal(raw) ? std::move(raw) : normalize_crlf(raw);
    auto headers = parse_headers(message);
    if (!headers) return headers.error();

    if (options.remove_bcc) remove_header_fields(message, *headers, "Bcc");

    std::string added;
    if (!headers->find("Date")) added += "Date: " + rfc5322_date(options.now) + "\r\n";
    if (!headers->find("Message-ID"))
        added += "Message-ID: " + make_message_id(options.hostname, options.now) + "\r\n";
    message.insert(0, added);
    return message;
}

}  // namespace mailqd
