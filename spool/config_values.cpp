// Value parsers for mailqd.conf: durations, sizes, booleans, modes, ports,
// enums, globs, host:port. Each takes the trimmed text of one value, trusts
// nothing in it, and returns nullopt rather than guessing.
#include <arpa/inet.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "spool/config.hpp"
#include "spool/message_text.hpp"

namespace mailqd {
namespace {

// Digits only (no sign, no spaces), as from_chars would otherwise accept "-1".
std::optional<std::uint64_t> parse_digits(std::string_view text)
{
    if (text.empty()) return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// Multiplies number by the unit of its one-letter suffix, if any.
std::optional<std::uint64_t> scaled(std::string_view text, std::string_view suffixes,
                                    const std::uint64_t* units)
{
    std::uint64_t unit = 1;
    if (!text.empty()) {
        auto at = suffixes.find(text.back());
        if (at != std::string_view::npos) {
            unit = units[at];
            text.remove_suffix(1);
        }
    }
    auto number = parse_digits(text);
    if (!number || *number > std::numeric_limits<std::uint64_t>::max() / unit) return std::nullopt;
    return *number * unit;
}

// Position after the ] closing the class that starts at pattern[open] == '[',
// or npos when it is unterminated.
std::size_t class_end(std::string_view pattern, std::size_t open)
{
    std::size_t i = open + 1;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) ++i;
    if (i < pattern.size() && pattern[i] == ']') ++i;  // a leading ] is literal
    auto close = pattern.find(']', i);
    return close == std::string_view::npos ? close : close + 1;
}

bool class_matches(std::string_view body, char c)
{
    bool negate = !body.empty() && (body[0] == '!' || body[0] == '^');
    if (negate) body.remove_prefix(1);
    char lc = ascii_lower(c);
    bool hit = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
        char from = ascii_lower(body[i]);
        char to = from;
        if (i + 2 < body.size() && body[i + 1] == '-') {
            to = ascii_lower(body[i + 2]);
            i += 2;
        }
        if (from <= lc && lc <= to) hit = true;
    }
    return hit != negate;
}

// Matches one pattern element at pattern[p] against c; sets next to the
// position after the element. '*' is handled by the caller.
bool element_matches(std::string_view pattern, std::size_t p, char c, std::size_t& next)
{
    if (pattern[p] == '?') {
        next = p + 1;
        return true;
    }
    if (pattern[p] == '[') {
        auto end = class_end(pattern, p);
        if (end != std::string_view::npos) {
            next = end;
            return class_matches(pattern.substr(p + 1, end - p - 2), c);
        }
    }
    next = p + 1;
    return ascii_lower(pattern[p]) == ascii_lower(c);
}

}  // namespace

std::optional<Seconds> parse_duration(std::string_view text)
{
    static const std::uint64_t units[] = {1, 60, 3600, 86400};
    auto seconds = scaled(text, "smhd", units);
    // A century bounds every sane duration and keeps time arithmetic clear of overflow.
    if (!seconds || *seconds > 100ull * 365 * 86400) return std::nullopt;
    return Seconds(static_cast<Seconds::rep>(*seconds));
}

std::optional<std::uint64_t> parse_size(std::string_view text)
{
    static const std::uint64_t units[] = {1ull << 10, 1ull << 20, 1ull << 30,
                                          1ull << 10, 1ull << 20, 1ull << 30};
    return scaled(text, "KMGkmg", units);
}

std::optional<bool> parse_bool(std::string_view text)
{
    for (auto word : {"yes", "true", "on", "1"})
        if (iequals(text, word)) return true;
    for (auto word : {"no", "false", "off", "0"})
        if (iequals(text, word)) return false;
    return std::nullopt;
}

std::optional<mode_t> parse_mode(std::string_view text)
{
    if (text.empty() || text.size() > 4) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return std::nullopt;
        value = value * 8 + static_cast<unsigned>(c - '0');
    }
    if (value > 0777) return std::nullopt;
    return static_cast<mode_t>(value);
}

std::optional<std::uint16_t> parse_port(std::string_view text)
{
    auto value = parse_digits(text);
    if (!value || *value < 1 || *value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

std::optional<TlsMode> parse_tls_mode(std::string_view text)
{
    for (auto mode : {TlsMode::none, TlsMode::starttls, TlsMode::implicit})
        if (iequals(text, to_string(mode))) return mode;
    return std::nullopt;
}

std::optional<RelayAuth> parse_relay_auth(std::string_view text)
{
    for (auto auth :
         {RelayAuth::automatic, RelayAuth::none, RelayAuth::plain, RelayAuth::login, RelayAuth::xoauth2})
        if (iequals(text, to_string(auth))) return auth;
    return std::nullopt;
}

std::optional<MailboxAuth> parse_mailbox_auth(std::string_view text)
{
    for (auto auth : {MailboxAuth::automatic, MailboxAuth::user, MailboxAuth::plain, MailboxAuth::apop})
        if (iequals(text, to_string(auth))) return auth;
    return std::nullopt;
}

std::string_view to_string(TlsMode mode)
{
    switch (mode) {
        case TlsMode::none: return "none";
        case TlsMode::starttls: return "starttls";
        case TlsMode::implicit: return "implicit";
    }
    return "?";
}

std::string_view to_string(RelayAuth auth)
{
    switch (auth) {
        case RelayAuth::automatic: return "auto";
        case RelayAuth::none: return "none";
        case RelayAuth::plain: return "plain";
        case RelayAuth::login: return "login";
        case RelayAuth::xoauth2: return "xoauth2";
    }
    return "?";
}

std::string_view to_string(MailboxAuth auth)
{
    switch (auth) {
        case MailboxAuth::automatic: return "auto";
        case MailboxAuth::user: return "user";
        case MailboxAuth::plain: return "plain";
        case MailboxAuth::apop: return "apop";
    }
    return "?";
}

namespace {

// The space- or tab-separated words of a list value.
std::vector<std::string_view> words(std::string_view text)
{
    std::vector<std::string_view> out;
    std::size_t i = text.find_first_not_of(" \t");
    while (i != std::string_view::npos) {
        const std::size_t end = std::min(text.find_first_of(" \t", i), text.size());
        out.push_back(text.substr(i, end - i));
        i = text.find_first_not_of(" \t", end);
    }
    return out;
}

}  // namespace

std::optional<std::vector<std::string>> parse_globs(std::string_view text)
{
    std::vector<std::string> globs;
    for (std::string_view glob : words(text)) {
        for (std::size_t p = glob.find('['); p != std::string_view::npos; p = glob.find('[', p + 1))
            if (class_end(glob, p) == std::string_view::npos) return std::nullopt;
        globs.emplace_back(glob);
    }
    if (globs.empty()) return std::nullopt;
    return globs;
}

std::optional<std::vector<std::string>> parse_user_list(std::string_view text)
{
    // The characters useradd and most directories allow in a name, a
    // trailing $ included (Samba machine accounts).
    auto name_ok = [](std::string_view name) {
        if (name.empty() || name.size() > 64 || name[0] == '-') return false;
        for (std::size_t i = 0; i < name.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(name[i]);
            const bool plain = std::isalnum(c) || c == '_' || c == '-' || c == '.';
            if (!plain && !(c == '$' && i + 1 == name.size())) return false;
        }
        return true;
    };
    std::vector<std::string> entries;
    for (std::string_view entry : words(text)) {
        const std::string_view name = entry[0] == '@' ? entry.substr(1) : entry;
        if (entry != "*" && !name_ok(name)) return std::nullopt;
        entries.emplace_back(entry);
    }
    return entries;
}

std::optional<std::string> parse_host_name(std::string_view text)
{
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
        std::string inner(text.substr(1, text.size() - 2));
        in6_addr addr{};
        if (inet_pton(AF_INET6, inner.c_str(), &addr) != 1) return std::nullopt;
        return inner;
    }
    std::string host(text);
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return host;
    if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') return std::nullopt;
    for (char c : host) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        if (!ok) return std::nullopt;
    }
    if (host.find("..") != std::string::npos) return std::nullopt;
    return host;
}

std::optional<HostPort> parse_host_port(std::string_view text)
{
    std::string_view host;
    std::string_view rest;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        in6_addr addr{};
        if (inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1) return std::nullopt;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        rest = text.substr(colon);
        // A bare IPv6 address needs brackets, or its last group reads as the port.
        if (host.find(':') != std::string_view::npos) return std::nullopt;
    }
    if (host.empty() || rest.size() < 2 || rest.front() != ':') return std::nullopt;
    for (char c : host)
        if (c == ' ' || c == '\t' || c == '/') return std::nullopt;
    auto port = parse_port(rest.substr(1));
    if (!port) return std::nullopt;
    return HostPort{std::string(host), *port};
}

bool is_loopback_host(std::string_view host)
{
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (iequals(host, "localhost") || iequals(host, "localhost.")) return true;
    std::string text(host);
    in_addr v4{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

bool glob_match(std::string_view pattern, std::string_view text)
{
    // Iterative matcher: on a mismatch, retry from just after the last '*'
    // with one more character swallowed by it (linear backtracking suffices
    // because '*' matches any run).
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star_p = std::string_view::npos;
    std::size_t star_t = 0;
    while (t < text.size()) {
        std::size_t next = 0;
        if (p < pattern.size() && pattern[p] == '*') {
            star_p = ++p;
            star_t = t;
        } else if (p < pattern.size() && element_matches(pattern, p, text[t], next)) {
            p = next;
            ++t;
        } else if (star_p != std::string_view::npos) {
            p = star_p;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::optional<HostPort> parse_loopback_listen(std::string_view text)
{
    auto parsed = parse_host_port(text);
    if (!parsed) return std::nullopt;
    if (parsed->host == "localhost" || parsed->host == "::1") return parsed;
    in_addr v4{};
    if (inet_pton(AF_INET, parsed->host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) return parsed;
    return std::nullopt;
}

}  // namespace mailqd
