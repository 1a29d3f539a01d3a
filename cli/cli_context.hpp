// What every mailqctl command is given: the personality, the global options,
// the streams, and the settings that come from the config file (sockets,
// hostname), loaded lazily so that "--socket PATH" needs no config at all.
// Trusts the config only as far as load_config() validated it; in sendmail
// and mailq modes a config that cannot be loaded falls back to the defaults,
// since their callers (cron, PHP) cannot fix it and mail must still flow.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/cli_args.hpp"
#include "spool/result.hpp"

namespace mailqd {

// The parts of mailqd.conf the CLI needs.
struct CliSettings {
    std::filesystem::path control_socket = "/run/mailqd/control.sock";
    std::filesystem::path submit_socket = "/run/mailqd/submit.sock";
    std::string hostname;  // queue.hostname; empty: the machine's name
    // [mailbox.NAME] maildir paths in file order (mailqctl inbox).
    std::vector<std::pair<std::string, std::filesystem::path>> maildirs;
    // Set when a lenient load fell back to the defaults: why, for errors.
    std::string fallback_reason;
};

// Loads the settings: the config file is -c FILE, else MAILQD_CONFIG, else
// /etc/mailqd/mailqd.conf. strict (mailqctl with -c or MAILQD_CONFIG): a
// config that does not load is ErrorKind::config with its first problem.
// Otherwise a missing or broken file gives the defaults.
Result<CliSettings> load_cli_settings(const std::optional<std::filesystem::path>& explicit_config,
                                      bool strict);

class CliContext {
public:
    CliContext(Personality personality, GlobalOptions global, std::istream& in, std::ostream& out);

    Personality personality() const { return personality_; }
    std::string_view program() const { return program_name(personality_); }
    const GlobalOptions& global() const { return global_; }
    std::istream& in() { return in_; }
    std::ostream& out() { return out_; }

    // --socket PATH, else the config's control.socket.
    Result<std::filesystem::path> control_socket();
    // The config's submit.socket.
    Result<std::filesystem::path> submit_socket();
    // The domain for bare user names and the invoking user's address.
    Result<std::string> hostname();
    // The Maildir of [mailbox.NAME], or of the first mailbox when name is
    // empty. not_found (67) for an unknown name or when none is configured.
    Result<std::filesystem::path> maildir(std::string_view name);

    // A socket error with the reason the config was not used, if it was
    // not: "cannot reach ... (config X not used: ...)".
    Error explain(Error error);

private:
    Result<CliSettings> settings();

    Personality personality_;
    GlobalOptions global_;
    std::istream& in_;
    std::ostream& out_;
    std::optional<Result<CliSettings>> settings_;
};

}  // namespace mailqd
