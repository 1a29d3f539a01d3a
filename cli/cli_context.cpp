// Lazily loaded CLI settings (see cli_context.hpp).
#include "cli/cli_context.hpp"

#include <cstdlib>

#include "spool/config.hpp"

namespace mailqd {

Result<CliSettings> load_cli_settings(const std::optional<std::filesystem::path>& explicit_config,
                                      bool strict)
{
    std::filesystem::path file = explicit_config ? *explicit_config : default_config_path();
    CliSettings settings;
    // The default file may simply not be installed (mailqctl --socket, tests);
    // only a file someone named is worth failing over.
    std::error_code ec;
    if (!strict && !std::filesystem::exists(file, ec)) {
        if (ec && ec != std::errc::no_such_file_or_directory)
            settings.fallback_reason = file.string() + ": " + ec.message();
        return settings;
    }
    // Secret and CA files are the daemon's business; a user running
    // sendmail may not be allowed to see them.
    ConfigLoadOptions options;
    options.check_files = false;
    ConfigLoad load = load_config(file, options);
    if (!load.config) {
        std::string why =
            load.problems.empty() ? file.string() + ": cannot be loaded" : load.problems.front().to_string();
        if (strict) return make_error(ErrorKind::config, why);
        settings.fallback_reason = why;
        return settings;
    }
    settings.control_socket = load.config->control.socket;
    settings.submit_socket = load.config->submit.socket;
    settings.hostname = load.config->queue.hostname;
    for (const auto& m : load.config->mailboxes) settings.maildirs.emplace_back(m.name, m.maildir);
    return settings;
}

CliContext::CliContext(Personality personality, GlobalOptions global, std::istream& in, std::ostream& out)
    : personality_(personality), global_(std::move(global)), in_(in), out_(out)
{
}

Result<CliSettings> CliContext::settings()
{
    if (!settings_) {
        // MAILQD_CONFIG is as explicit as -c for an admin; sendmail and mailq
        // stay lenient whatever they were given.
        bool named = global_.config.has_value() || std::getenv("MAILQD_CONFIG") != nullptr;
        bool strict = named && personality_ == Personality::mailqctl;
        settings_ = load_cli_settings(global_.config, strict);
    }
    return *settings_;
}

Result<std::filesystem::path> CliContext::control_socket()
{
    if (global_.socket) return *global_.socket;
    auto s = settings();
    if (!s) return s.error();
    return s->control_socket;
}

Result<std::filesystem::path> CliContext::submit_socket()
{
    auto s = settings();
    if (!s) return s.error();
    return s->submit_socket;
}

Result<std::string> CliContext::hostname()
{
    auto s = settings();
    if (!s) return s.error();
    if (!s->hostname.empty()) return s->hostname;
    return machine_fqdn();
}

Result<std::filesystem::path> CliContext::maildir(std::string_view name)
{
    auto s = settings();
    if (!s) return s.error();
    for (const auto& [mailbox, path] : s->maildirs)
        if (name.empty() || mailbox == name) return path;
    if (name.empty())
        return make_error(ErrorKind::not_found,
                          "no [mailbox.NAME] in the config" +
                              (s->fallback_reason.empty() ? std::string() : " (" + s->fallback_reason + ")"));
    return make_error(ErrorKind::not_found, "unknown mailbox " + std::string(name));
}

Error CliContext::explain(Error error)
{
    bool socket_trouble = error.kind == ErrorKind::unavailable || error.kind == ErrorKind::permission;
    if (!socket_trouble || !settings_ || !settings_->ok() || (*settings_)->fallback_reason.empty())
        return error;
    error.message +=
        " (default sockets used, the config did not load: " + (*settings_)->fallback_reason + ")";
    return error;
}

}  // namespace mailqd
