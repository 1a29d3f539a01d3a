// The one table of mailqd.conf keys (DESIGN.md section 2): section, key,
// default as written in the file, how the value is parsed into its struct,
// and a line of help. Parsing, problems, --check-config, the example config
// and the man page all follow this table (tests/unit/spool/config_test.cpp
// holds conf/mailqd.conf and man/mailqd.conf.5 to it).
#include <filesystem>

#include "spool/config.hpp"
#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

// How one kind of value is read, and what it is called in a problem:
// "\"99999\" is not a port (1-65535)".
template <class T>
struct ValueKind {
    std::optional<T> (*parse)(std::string_view);
    std::string_view what;
};

// Control characters would garble the one-line problem report.
std::string quote(std::string_view text) { return "\"" + printable(text) + "\""; }

template <class T>
std::optional<T> positive(std::optional<T> value)
{
    if (value && *value > T{}) return value;
    return std::nullopt;
}

std::optional<double> parse_number(std::string_view text, double min, double below)
{
    std::string s(text);
    if (s.empty() || s.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
    char* end = nullptr;
    double value = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !(value >= min && value < below)) return std::nullopt;
    return value;
}

std::optional<unsigned> parse_count(std::string_view text)
{
    if (text.empty() || text.size() > 7 || text.find_first_not_of("0123456789") != text.npos)
        return std::nullopt;
    return static_cast<unsigned>(std::stoul(std::string(text)));
}

// Not formatted: clang-format would align each lambda's body under the
// brace after the kind's name, 50 columns in.
// clang-format off
constexpr ValueKind<std::filesystem::path> path_kind{
    +[](std::string_view t) -> std::optional<std::filesystem::path> {
        if (t.empty()) return std::nullopt;
        return std::filesystem::path(t);
    },
    "a path"};
constexpr ValueKind<std::filesystem::path> optional_path_kind{
    +[](std::string_view t) -> std::optional<std::filesystem::path> {
        return std::filesystem::path(t);
    },
    "a path"};
constexpr ValueKind<std::string> text_kind{
    +[](std::string_view t) -> std::optional<std::string> { return std::string(t); }, "text"};
constexpr ValueKind<std::string> optional_host_kind{
    +[](std::string_view t) -> std::optional<std::string> {
        if (t.empty()) return std::string();
        return parse_host_name(t);
    },
    "a host name or IP address"};
constexpr ValueKind<std::string> listen_kind{
    +[](std::string_view t) -> std::optional<std::string> {
        if (t.empty() || parse_loopback_listen(t)) return std::string(t);
        return std::nullopt;
    },
    "a loopback host:port (127.0.0.1:2525, [::1]:2525, localhost:2525)"};
constexpr ValueKind<std::uint64_t> size_kind{
    +[](std::string_view t) { return positive(parse_size(t)); }, "a size (e.g. 512K, 35M, 1G)"};
constexpr ValueKind<Seconds> duration_kind{
    +[](std::string_view t) { return positive(parse_duration(t)); },
    "a positive duration (e.g. 30s, 5m, 1h, 2d)"};
constexpr ValueKind<Seconds> duration_or_zero_kind{&parse_duration,
                                                   "a duration (e.g. 0, 30s, 5m, 1h, 2d)"};
constexpr ValueKind<double> factor_kind{
    +[](std::string_view t) { return parse_number(t, 1.0, 1000.0); },
    "a number from 1 to below 1000 (e.g. 2)"};
constexpr ValueKind<double> jitter_kind{
    +[](std::string_view t) { return parse_number(t, 0.0, 1.0); },
    "a fraction from 0 to below 1 (e.g. 0.1)"};
constexpr ValueKind<bool> bool_kind{&parse_bool, "a boolean (yes/no, true/false, on/off, 1/0)"};
constexpr ValueKind<mode_t> mode_kind{&parse_mode, "an octal mode (e.g. 0660)"};
constexpr ValueKind<std::uint16_t> port_kind{&parse_port, "a port (1-65535)"};
constexpr ValueKind<unsigned> count_kind{+[](std::string_view t) { return positive(parse_count(t)); },
                                         "a positive count"};
constexpr ValueKind<unsigned> count_or_zero_kind{&parse_count, "a count (0 = unlimited)"};
constexpr ValueKind<std::string> level_kind{
    +[](std::string_view t) -> std::optional<std::string> {
        for (std::string_view level : {"trace", "debug", "info", "warn", "error"})
            if (t == level) return std::string(t);
        return std::nullopt;
    },
    "one of trace, debug, info, warn, error"};
constexpr ValueKind<TlsMode> tls_kind{&parse_tls_mode, "one of none, starttls, implicit"};
constexpr ValueKind<RelayAuth> relay_auth_kind{&parse_relay_auth,
                                               "one of auto, none, plain, login, xoauth2"};
constexpr ValueKind<MailboxAuth> mailbox_auth_kind{&parse_mailbox_auth,
                                                   "one of auto, user, plain, apop"};
constexpr ValueKind<std::vector<std::string>> users_kind{
    &parse_user_list, "*, or user names and @group names, space separated (e.g. www-data @mailqd)"};
constexpr ValueKind<std::vector<std::string>> globs_kind{
    &parse_globs, "a space-separated list of globs (e.g. * or *@example.com)"};
// clang-format on

template <class M>
struct member_of;
template <class S, class T>
struct member_of<T S::*> {
    using owner = S;
};

// Parses text with Kind into the field Member of the section's struct.
template <auto Member, const auto& Kind>
std::string assign(const SectionTarget& target, std::string_view text)
{
    using Owner = typename member_of<decltype(Member)>::owner;
    auto value = Kind.parse(text);
    if (!value) return quote(text) + " is not " + std::string(Kind.what);
    std::get<Owner*>(target)->*Member = std::move(*value);
    return {};
}

// password_file / password_command fill the nested SecretSource.
template <class Owner>
std::string assign_password_file(const SectionTarget& target, std::string_view text)
{
    std::get<Owner*>(target)->password.file = std::filesystem::path(text);
    return {};
}

template <class Owner>
std::string assign_password_command(const SectionTarget& target, std::string_view text)
{
    std::get<Owner*>(target)->password.command = std::string(text);
    return {};
}

using K = SectionKind;
using Q = QueueConfig;
using S = SubmitConfig;
using C = ControlConfig;
using L = LogConfig;
using R = RelayConfig;
using M = MailboxConfig;

// Built on first use, so code running during static initialisation can use it.
const std::vector<ConfigKey>& build_keys()
{
    static const std::vector<ConfigKey> keys = {
        {K::queue, "database", "/var/lib/mailqd/queue.db", "the SQLite queue database (created if missing)",
         assign<&Q::database, path_kind>},
        {K::queue, "spool", "/var/spool/mailqd",
         "spool directory holding tmp/ incoming/ bad/ (created if missing)", assign<&Q::spool, path_kind>},
        {K::queue, "max_message_size", "35M", "largest message accepted by any door",
         assign<&Q::max_message_size, size_kind>},
        {K::queue, "lifetime", "5d", "after this a recipient still not delivered fails as expired",
         assign<&Q::lifetime, duration_kind>},
        {K::queue, "retry_initial", "1m", "delay before the first retry",
         assign<&Q::retry_initial, duration_kind>},
        {K::queue, "retry_max", "1h", "longest delay between retries", assign<&Q::retry_max, duration_kind>},
        {K::queue, "retry_factor", "2", "each retry delay is the previous one times this (at least 1)",
         assign<&Q::retry_factor, factor_kind>},
        {K::queue, "retry_jitter", "0.1", "random spread of retry delays, 0.1 = +-10 % (0 to below 1)",
         assign<&Q::retry_jitter, jitter_kind>},
        {K::queue, "keep_done", "1d", "how long sent and failed messages stay visible",
         assign<&Q::keep_done, duration_or_zero_kind>},
        {K::queue, "bounce", "yes", "send a DSN to the envelope sender when a recipient fails",
         assign<&Q::bounce, bool_kind>},
        {K::queue, "hostname", "", "name used in HELO, Message-ID and DSNs; empty: the machine's FQDN",
         assign<&Q::hostname, optional_host_kind>},

        {K::submit, "socket", "/run/mailqd/submit.sock", "Unix socket speaking SMTP and LMTP",
         assign<&S::socket, path_kind>},
        {K::submit, "socket_mode", "0666",
         "permissions of the submit socket (octal); submit.users decides who may submit",
         assign<&S::socket_mode, mode_kind>},
        {K::submit, "socket_group", "mailqd",
         "group of the submit socket; the spool directory door is for its members; empty: leave as is",
         assign<&S::socket_group, text_kind>},
        {K::submit, "users", "*",
         "who may submit over the socket and TCP: *, or user names and @group names; root always may",
         assign<&S::users, users_kind>},
        {K::submit, "user_rate", "0", "most messages per minute from one local user; 0: unlimited",
         assign<&S::user_rate, count_or_zero_kind>},
        {K::submit, "listen", "", "optional TCP address on loopback, host:port or [::1]:port; empty: off",
         assign<&S::listen, listen_kind>},
        {K::submit, "max_clients", "256", "most submit clients connected at once",
         assign<&S::max_clients, count_kind>},
        {K::submit, "timeout", "5m", "an idle or stalled client is disconnected after this",
         assign<&S::timeout, duration_kind>},

        {K::control, "socket", "/run/mailqd/control.sock", "Unix socket used by mailqctl",
         assign<&C::socket, path_kind>},
        {K::control, "socket_mode", "0666",
         "permissions of the control socket (octal); users who are not admins see only their own mail",
         assign<&C::socket_mode, mode_kind>},
        {K::control, "socket_group", "mailqd-admin",
         "group of the control socket, and its members are admins (with root); empty: leave as is",
         assign<&C::socket_group, text_kind>},

        {K::log, "level", "info", "trace, debug, info, warn or error", assign<&L::level, level_kind>},
        {K::log, "protocol_trace", "no", "log SMTP and POP3 conversations at debug level, secrets masked",
         assign<&L::protocol_trace, bool_kind>},

        {K::relay, "host", "", "smarthost name or address (required)", assign<&R::host, optional_host_kind>},
        {K::relay, "port", "587", "smarthost port (465 when tls = implicit and no port is set)",
         assign<&R::port, port_kind>},
        {K::relay, "tls", "starttls", "none, starttls or implicit", assign<&R::tls, tls_kind>},
        {K::relay, "verify", "yes", "verify the certificate chain and host name",
         assign<&R::verify, bool_kind>},
        {K::relay, "ca_file", "", "CA certificates to trust; empty: the system trust store",
         assign<&R::ca_file, optional_path_kind>},
        {K::relay, "auth", "auto", "auto, none, plain, login or xoauth2", assign<&R::auth, relay_auth_kind>},
        {K::relay, "username", "", "AUTH user name; empty: no AUTH", assign<&R::username, text_kind>},
        {K::relay, "password_file", "", "file whose first line is the password (mode 0600 or stricter)",
         assign_password_file<R>},
        {K::relay, "password_command", "", "command whose output is the password or OAuth2 token",
         assign_password_command<R>},
        {K::relay, "senders", "*", "envelope-sender globs routed to this relay, space separated",
         assign<&R::senders, globs_kind>},
        {K::relay, "connections", "4", "parallel sessions to this relay",
         assign<&R::connections, count_kind>},
        {K::relay, "messages_per_connection", "100", "messages sent over one session before it is closed",
         assign<&R::messages_per_connection, count_kind>},
        {K::relay, "rate", "0", "most messages per minute; 0: unlimited",
         assign<&R::rate, count_or_zero_kind>},
        {K::relay, "timeout", "60s", "deadline for each read and write", assign<&R::timeout, duration_kind>},
        {K::relay, "helo", "", "name sent in EHLO; empty: queue.hostname",
         assign<&R::helo, optional_host_kind>},

        {K::mailbox, "host", "", "POP3 server name or address (required)",
         assign<&M::host, optional_host_kind>},
        {K::mailbox, "port", "995", "POP3 port (110 when tls is not implicit and no port is set)",
         assign<&M::port, port_kind>},
        {K::mailbox, "tls", "implicit", "none, starttls (STLS) or implicit", assign<&M::tls, tls_kind>},
        {K::mailbox, "verify", "yes", "verify the certificate chain and host name",
         assign<&M::verify, bool_kind>},
        {K::mailbox, "ca_file", "", "CA certificates to trust; empty: the system trust store",
         assign<&M::ca_file, optional_path_kind>},
        {K::mailbox, "username", "", "POP3 user name (required)", assign<&M::username, text_kind>},
        {K::mailbox, "password_file", "", "file whose first line is the password (mode 0600 or stricter)",
         assign_password_file<M>},
        {K::mailbox, "password_command", "", "command whose output is the password",
         assign_password_command<M>},
        {K::mailbox, "auth", "auto", "auto, user, plain or apop", assign<&M::auth, mailbox_auth_kind>},
        {K::mailbox, "maildir", "/var/mail/NAME",
         "Maildir the messages go to (cur/ new/ tmp/ created if missing; links and parts of another owner "
         "refused)",
         assign<&M::maildir, path_kind>},
        {K::mailbox, "interval", "5m", "how often the mailbox is fetched",
         assign<&M::interval, duration_kind>},
        {K::mailbox, "keep", "no", "no: DELE each message once it is safe on disk",
         assign<&M::keep, bool_kind>},
        {K::mailbox, "max_size", "50M", "larger messages are left on the server and reported",
         assign<&M::max_size, size_kind>},
    };
    return keys;
}

}  // namespace

std::string_view to_string(SectionKind kind)
{
    switch (kind) {
        case SectionKind::queue: return "queue";
        case SectionKind::submit: return "submit";
        case SectionKind::control: return "control";
        case SectionKind::log: return "log";
        case SectionKind::relay: return "relay";
        case SectionKind::mailbox: return "mailbox";
    }
    return "?";
}

const std::vector<ConfigKey>& config_keys() { return build_keys(); }

const ConfigKey* find_config_key(SectionKind section, std::string_view name)
{
    for (const auto& key : build_keys())
        if (key.section == section && key.name == name) return &key;
    return nullptr;
}

}  // namespace mailqd
