// mailqd.conf as typed values (DESIGN.md section 2). The key table in
// config_keys.cpp drives parsing, error messages and --check-config, so the
// accepted keys, their defaults and their checks cannot drift apart.
// Trusts nothing in the file: every value is validated, every error names
// file, line and key.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "spool/result.hpp"

namespace mailqd {

using Seconds = std::chrono::seconds;

enum class TlsMode { none, starttls, implicit };
enum class RelayAuth { automatic, none, plain, login, xoauth2 };
enum class MailboxAuth { automatic, user, plain, apop };

// Where a secret comes from. Never the main file itself.
struct SecretSource {
    std::filesystem::path file;   // password_file: first line
    std::string command;          // password_command: stdout (secret or OAuth2 token)
    bool empty() const { return file.empty() && command.empty(); }
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
};

struct SubmitConfig {
    std::filesystem::path socket = "/run/mailqd/submit.sock";
    mode_t socket_mode = 0660;
    std::string socket_group = "mailqd";
    std::string listen;  // "127.0.0.1:2525", "[::1]:2525" or empty
    unsigned max_clients = 256;
    Seconds timeout{300};
};

struct ControlConfig {
    std::filesystem::path socket = "/run/mailqd/control.sock";
    mode_t socket_mode = 0660;
    std::string socket_group = "mailqd-admin";
};

struct LogConfig {
    std::string level = "info";  // trace debug info warn error
    bool protocol_trace = false;
};

struct RelayConfig {
    std::string name;
    std::string host;
    std::uint16_t port = 587;
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
    std::string helo;
};

struct MailboxConfig {
    std::string name;
    std::string host;
    std::uint16_t port = 995;
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
};

struct Config {
    std::filesystem::path file;  // where it was read from
    QueueConfig queue;
    SubmitConfig submit;
    ControlConfig control;
    LogConfig log;
    std::vector<RelayConfig> relays;      // file order; the first is the default
    std::vector<MailboxConfig> mailboxes; // file order

    const RelayConfig* relay(std::string_view name) const;
    const MailboxConfig* mailbox(std::string_view name) const;
};

// One problem in a config file: "FILE:LINE: [section] key: message".
struct ConfigProblem {
    std::string file;
    int line = 0;  // 0 when the problem is not tied to a line
    std::string key;  // "queue.lifetime", "relay.gmail.port", or empty
    std::string message;
    std::string to_string() const;
};

struct ConfigLoad {
    std::optional<Config> config;  // set only when problems is empty
    std::vector<ConfigProblem> problems;
};

// Reads and validates a config file. Relative paths in it are kept relative
// (to the working directory), as the dev config relies on.
ConfigLoad load_config(const std::filesystem::path& file);

// Same, from text; file_name is used in problems.
ConfigLoad parse_config(const std::string& text, const std::string& file_name);

// MAILQD_CONFIG if set, else /etc/mailqd/mailqd.conf.
std::filesystem::path default_config_path();

// Reads a secret: the first line of password_file (refused if the file is
// readable by group or others) or the stdout of password_command, trailing
// newline removed. The secret itself never appears in an error.
Result<std::string> read_secret(const SecretSource& source);

// Parsers shared with the key table, exposed for tests.
std::optional<Seconds> parse_duration(std::string_view text);   // "90", "5m", "1h", "5d"
std::optional<std::uint64_t> parse_size(std::string_view text); // "35M", "512K", "1G"
std::optional<bool> parse_bool(std::string_view text);          // yes/no true/false on/off 1/0

// Shell-style glob match (*, ?, [...]), case-insensitive as addresses are.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace mailqd
