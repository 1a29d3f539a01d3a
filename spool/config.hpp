// mailqd.conf as typed values (DESIGN.md section 2). The key table in
// config_keys.cpp drives parsing, error messages and --check-config, so the
// accepted keys, their defaults and their checks cannot drift apart.
// Trusts nothing in the file: every value is validated, every error names
// file, line and key.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "spool/result.hpp"

namespace mailqd {

using Seconds = std::chrono::seconds;

enum class TlsMode { none, starttls, implicit };
enum class RelayAuth { automatic, none, plain, login, xoauth2 };
enum class MailboxAuth { automatic, user, plain, apop };

// Where a secret comes from. Never the main file itself.
struct SecretSource {
    std::filesystem::path file;  // password_file: first line
    std::string command;         // password_command: first line of stdout (secret or OAuth2 token)
    bool empty() const { return file.empty() && command.empty(); }
    bool operator==(const SecretSource&) const = default;
};

struct QueueConfig {
    std::filesystem::path database = "/var/lib/mailqd/queue.db";
    std::filesystem::path spool = "/var/spool/mailqd";
    std::uint64_t max_message_size = 35ull << 20;
    Seconds lifetime{5 * 86400};
    Seconds retry_initial{60};
    Seconds retry_max{3600};
    double retry_factor = 2.0;
    double retry_jitter = 0.1;
    Seconds keep_done{86400};
    bool bounce = true;
    std::string hostname;  // resolved to the machine's FQDN when empty
    bool operator==(const QueueConfig&) const = default;
};

struct SubmitConfig {
    std::filesystem::path socket = "/run/mailqd/submit.sock";
    mode_t socket_mode = 0666;
    std::string socket_group = "mailqd";     // empty: leave the group as is
    std::vector<std::string> users = {"*"};  // who may submit: *, names, @groups
    unsigned user_rate = 0;                  // messages per minute per user; 0: unlimited
    std::string listen;                      // "127.0.0.1:2525", "[::1]:2525" or empty
    unsigned max_clients = 256;
    Seconds timeout{300};
    bool operator==(const SubmitConfig&) const = default;
};

struct ControlConfig {
    std::filesystem::path socket = "/run/mailqd/control.sock";
    // Open to every local user, as Postfix's showq: each request is checked
    // against the peer's credentials (non-admins see only their own mail).
    mode_t socket_mode = 0666;
    std::string socket_group = "mailqd-admin";  // admins; empty: leave the group as is
    bool operator==(const ControlConfig&) const = default;
};

struct LogConfig {
    std::string level = "info";  // trace debug info warn error
    bool protocol_trace = false;
    bool operator==(const LogConfig&) const = default;
};

struct RelayConfig {
    std::string name;
    std::string host;
    std::uint16_t port = 587;  // 465 when tls = implicit and no port is given
    TlsMode tls = TlsMode::starttls;
    bool verify = true;
    std::filesystem::path ca_file;
    RelayAuth auth = RelayAuth::automatic;
    std::string username;
    SecretSource password;
    std::vector<std::string> senders{"*"};  // globs, file order matters
    unsigned connections = 4;
    unsigned messages_per_connection = 100;
    unsigned rate = 0;  // messages per minute, 0 = unlimited
    Seconds timeout{60};
    std::string helo;  // empty: queue.hostname
    bool operator==(const RelayConfig&) const = default;
};

struct MailboxConfig {
    std::string name;
    std::string host;
    std::uint16_t port = 995;  // 110 when tls is not implicit and no port is given
    TlsMode tls = TlsMode::implicit;
    bool verify = true;
    std::filesystem::path ca_file;
    std::string username;
    SecretSource password;
    MailboxAuth auth = MailboxAuth::automatic;
    std::filesystem::path maildir;  // default /var/mail/NAME
    Seconds interval{300};
    bool keep = false;
    std::uint64_t max_size = 50ull << 20;
    bool operator==(const MailboxConfig&) const = default;
};

struct Config {
    std::filesystem::path file;  // where it was read from
    QueueConfig queue;
    SubmitConfig submit;
    ControlConfig control;
    LogConfig log;
    std::vector<RelayConfig> relays;       // file order; the first is the default
    std::vector<MailboxConfig> mailboxes;  // file order

    const RelayConfig* relay(std::string_view name) const;
    const MailboxConfig* mailbox(std::string_view name) const;
    // The first relay, in file order, whose senders globs match the envelope
    // sender ("" for <>); no match: the first relay. nullptr only when there
    // are no relays, which load_config never returns.
    const RelayConfig* relay_for_sender(std::string_view sender) const;
};

// One problem in a config file: "FILE:LINE: [section] key: message".
struct ConfigProblem {
    std::string file;
    int line = 0;     // 0 when the problem is not tied to a line
    std::string key;  // "queue.lifetime", "relay.gmail.port", or empty
    std::string message;
    std::string section;  // "queue", "relay.gmail", or empty (added after key: aggregate order kept)
    // The exact line --check-config prints, e.g.
    // mailqd.conf:12: [relay.gmail] port: "99999" is not a port (1-65535)
    std::string to_string() const;
};

struct ConfigLoad {
    std::optional<Config> config;  // set only when problems is empty
    std::vector<ConfigProblem> problems;
};

struct ConfigLoadOptions {
    // false skips looking at password_file and ca_file on disk: for
    // mailqctl/sendmail run by users who may not be able to see them. The
    // daemon and --check-config keep the default.
    bool check_files = true;
};

// Reads and validates a config file. Relative paths in it are kept relative
// (to the working directory), as the dev config relies on. An empty
// queue.hostname is replaced by machine_fqdn().
ConfigLoad load_config(const std::filesystem::path& file, const ConfigLoadOptions& options = {});

// Same, from text; file_name is used in problems.
ConfigLoad parse_config(const std::string& text, const std::string& file_name,
                        const ConfigLoadOptions& options = {});

// MAILQD_CONFIG if set, else /etc/mailqd/mailqd.conf.
std::filesystem::path default_config_path();

// Reads a secret: the first line of password_file (refused if readable by group or others) or of
// password_command's stdout (spool/secret_command.hpp), less its LF or CRLF; a first line empty,
// over 64 KiB or holding a CR or NUL is refused. The secret itself never appears in an error.
Result<std::string> read_secret(const SecretSource& source);

// Parsers shared with the key table, exposed for tests.
std::optional<Seconds> parse_duration(std::string_view text);    // "90", "30s", "5m", "1h", "5d"
std::optional<std::uint64_t> parse_size(std::string_view text);  // "1024", "512K", "35M", "1G"
std::optional<bool> parse_bool(std::string_view text);           // yes/no true/false on/off 1/0
std::optional<mode_t> parse_mode(std::string_view text);         // octal, "0660", at most 0777
std::optional<std::uint16_t> parse_port(std::string_view text);  // 1..65535
std::optional<TlsMode> parse_tls_mode(std::string_view text);
std::optional<RelayAuth> parse_relay_auth(std::string_view text);
std::optional<MailboxAuth> parse_mailbox_auth(std::string_view text);
std::optional<std::vector<std::string>> parse_globs(std::string_view text);  // "*@a.org b@*"
// "*", or user names and @group names ("www-data @mailqd"); empty: nobody
// (but root and the daemon's own user, who always may).
std::optional<std::vector<std::string>> parse_user_list(std::string_view text);
// A DNS name (letters, digits, - _ .) or an IP address; "[::1]" gives "::1".
std::optional<std::string> parse_host_name(std::string_view text);

// "127.0.0.1:2525", "[::1]:2525", "localhost:25" (host without brackets).
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
    bool operator==(const HostPort&) const = default;
};
std::optional<HostPort> parse_host_port(std::string_view text);
// A listen address the submit door may use: host:port whose host is a
// loopback address (127.0.0.0/8, [::1]) or "localhost". The door has no
// authentication, so anything else would make an open relay.
std::optional<HostPort> parse_loopback_listen(std::string_view text);

// The words used in the file, for messages and logs: "starttls", "xoauth2".
std::string_view to_string(TlsMode mode);
std::string_view to_string(RelayAuth auth);
std::string_view to_string(MailboxAuth auth);

// localhost, 127.0.0.0/8 or ::1: where credentials may travel without TLS.
bool is_loopback_host(std::string_view host);

// Shell-style glob match (*, ?, [...] with ! or ^ and ranges),
// case-insensitive as addresses are. An unterminated [ matches itself.
bool glob_match(std::string_view pattern, std::string_view text);

// The machine's FQDN: gethostname, canonicalised by getaddrinfo
// (AI_CANONNAME); the bare host name if that fails.
std::string machine_fqdn();

// ---- The key table (config_keys.cpp) ----
// One row per key: it drives parsing, error messages, --check-config, and a
// unit test holds conf/mailqd.conf and man/mailqd.conf.5 to it.

enum class SectionKind { queue, submit, control, log, relay, mailbox };
std::string_view to_string(SectionKind kind);  // "queue", ..., "relay", "mailbox"

// The struct a section's keys are written into.
using SectionTarget =
    std::variant<QueueConfig*, SubmitConfig*, ControlConfig*, LogConfig*, RelayConfig*, MailboxConfig*>;

struct ConfigKey {
    SectionKind section;
    std::string_view name;          // "max_message_size"
    std::string_view default_text;  // as written in the file: "35M", "" for empty
    std::string_view help;          // one line
    // Parses text into target (which must hold the section's struct).
    // Returns "" or why the value is bad: `"99999" is not a port (1-65535)`.
    std::string (*apply)(const SectionTarget& target, std::string_view text);
};

// Every key in DESIGN.md section 2 order.
const std::vector<ConfigKey>& config_keys();
const ConfigKey* find_config_key(SectionKind section, std::string_view name);

}  // namespace mailqd
