// RFC 3461 parameters and xtext (see dsn_params.hpp).
#include "spool/dsn_params.hpp"

#include <algorithm>

#include "spool/message_text.hpp"

namespace mailqd {

namespace {

bool is_printable_ascii(char c) { return c >= 0x20 && c <= 0x7e; }

bool is_xchar(char c) { return c >= '!' && c <= '~' && c != '+' && c != '='; }

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // RFC 3461 asks for upper case; lower harms nobody
    return -1;
}

bool valid_addr_type(std::string_view type)
{
    return !type.empty() && std::all_of(type.begin(), type.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    });
}

}  // namespace

std::optional<DsnNotify> parse_dsn_notify(std::string_view text)
{
    DsnNotify notify;
    notify.given = true;
    if (iequals(text, "NEVER")) return notify;
    while (true) {
        const auto comma = text.find(',');
        const std::string_view word = text.substr(0, comma);
        if (iequals(word, "SUCCESS"))
            notify.success = true;
        else if (iequals(word, "FAILURE"))
            notify.failure = true;
        else if (iequals(word, "DELAY"))
            notify.delay = true;
        else
            return std::nullopt;  // empty, NEVER in a list, or unknown
        if (comma == std::string_view::npos) return notify;
        text.remove_prefix(comma + 1);
    }
}

std::string to_string(const DsnNotify& notify)
{
    if (!notify.given) return "";
    if (notify.never()) return "NEVER";
    std::string out;
    auto add = [&out](bool set, const char* word) {
        if (!set) return;
        if (!out.empty()) out += ',';
        out += word;
    };
    add(notify.success, "SUCCESS");
    add(notify.failure, "FAILURE");
    add(notify.delay, "DELAY");
    return out;
}

std::optional<DsnRet> parse_dsn_ret(std::string_view text)
{
    if (iequals(text, "FULL")) return DsnRet::full;
    if (iequals(text, "HDRS")) return DsnRet::hdrs;
    return std::nullopt;
}

std::string_view to_string(DsnRet ret)
{
    switch (ret) {
        case DsnRet::full: return "FULL";
        case DsnRet::hdrs: return "HDRS";
        case DsnRet::unspecified: break;
    }
    return "";
}

bool valid_envid(std::string_view envid)
{
    return !envid.empty() && envid.size() <= max_envid_length &&
           std::all_of(envid.begin(), envid.end(), is_printable_ascii);
}

bool valid_orcpt(std::string_view orcpt)
{
    const auto semicolon = orcpt.find(';');
    if (semicolon == std::string_view::npos || orcpt.size() > max_orcpt_length) return false;
    const std::string_view address = orcpt.substr(semicolon + 1);
    return valid_addr_type(orcpt.substr(0, semicolon)) && !address.empty() &&
           std::all_of(address.begin(), address.end(), is_printable_ascii);
}

std::string xtext_encode(std::string_view text)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (is_xchar(c)) {
            out += c;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        out += '+';
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
    }
    return out;
}

std::optional<std::string> xtext_decode(std::string_view xtext)
{
    std::string out;
    out.reserve(xtext.size());
    for (std::size_t i = 0; i < xtext.size(); ++i) {
        const char c = xtext[i];
        if (is_xchar(c)) {
            out += c;
            continue;
        }
        if (c != '+' || xtext.size() - i < 3) return std::nullopt;
        const int high = hex_value(xtext[i + 1]), low = hex_value(xtext[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

std::optional<std::string> parse_envid_param(std::string_view value)
{
    auto envid = xtext_decode(value);
    if (!envid || !valid_envid(*envid)) return std::nullopt;
    return envid;
}

std::optional<std::string> parse_orcpt_param(std::string_view value)
{
    const auto semicolon = value.find(';');
    if (semicolon == std::string_view::npos) return std::nullopt;
    auto address = xtext_decode(value.substr(semicolon + 1));
    if (!address) return std::nullopt;
    std::string orcpt = std::string(value.substr(0, semicolon + 1)) + *address;
    if (!valid_orcpt(orcpt)) return std::nullopt;
    return orcpt;
}

std::string orcpt_param(std::string_view orcpt)
{
    const auto semicolon = orcpt.find(';');
    if (semicolon == std::string_view::npos) return "rfc822;" + xtext_encode(orcpt);
    return std::string(orcpt.substr(0, semicolon + 1)) + xtext_encode(orcpt.substr(semicolon + 1));
}

}  // namespace mailqd
