// mailqd's command line: mailqd [-c FILE] [--check-config] [--version] [--help]
#pragma once

#include <filesystem>
#include <variant>

namespace mailqd {

struct DaemonOptions {
    std::filesystem::path config;  // -c, else MAILQD_CONFIG, else the default
    bool check_config = false;
};

// The options, or the exit code to leave with (help or version printed: 0,
// a usage error printed: 64).
std::variant<DaemonOptions, int> parse_daemon_options(int argc, char** argv);

}  // namespace mailqd
