// mailqd_main: argv -> config -> Daemon::run, and the small config-derived
// values the daemon needs (hostname, per-component options).
#include <spdlog/spdlog.h>
#include <iostream>

#include "daemon/daemon.hpp"
#include "daemon/daemon_options.hpp"
#include "daemon/logging.hpp"

namespace mailqd {
namespace {

constexpr int exit_config = static_cast<int>(ErrorKind::config);

// Prints every problem; true when there were none.
bool report_problems(const ConfigLoad& load)
{
    for (const auto& problem : load.problems) std::cerr << problem.to_string() << "\n";
    return load.problems.empty() && load.config.has_value();
}

}  // namespace

void resolve_hostname(Config& config)
{
    if (config.queue.hostname.empty()) config.queue.hostname = machine_fqdn();
}

SubmitOptions submit_options(const Config& config)
{
    SubmitOptions options;
    options.hostname = config.queue.hostname;
    options.max_message_size = config.queue.max_message_size;
    options.max_clients = config.submit.max_clients;
    options.timeout = config.submit.timeout;
    options.users = config.submit.users;
    options.user_rate = config.submit.user_rate;
    return options;
}

SpoolWatcherOptions spool_options(const Config& config)
{
    SpoolWatcherOptions options;
    options.max_message_size = config.queue.max_message_size;
    options.hostname = config.queue.hostname;
    return options;
}

int mailqd_main(int argc, char** argv)
{
    auto parsed = parse_daemon_options(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) return *code;
    const DaemonOptions& options = std::get<DaemonOptions>(parsed);

    ConfigLoad load = load_config(options.config);
    if (!report_problems(load)) return exit_config;
    if (options.check_config) {
        std::cout << options.config.string() << ": ok\n";
        return 0;
    }
    setup_logging();
    Config config = std::move(*load.config);
    if (config.file.empty()) config.file = options.config;
    if (Status s = set_log_level(config.log.level); !s) {
        std::cerr << options.config.string() << ": " << s.error().message << "\n";
        return exit_config;
    }
    resolve_hostname(config);
    try {
        Daemon daemon(std::move(config));
        return daemon.run();
    } catch (const std::exception& e) {
        spdlog::critical("fatal: {}", e.what());
        return 70;  // EX_SOFTWARE
    }
}

}  // namespace mailqd
