// Internal to the config loader: what the parser saw (which keys were set,
// on which lines), and the checks that need several keys or the file system.
// Not part of the config API; only config.cpp and config_checks.cpp use it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailqd {
struct Config;
struct ConfigProblem;
}  // namespace mailqd

// (Declared, not included: the loader's helper does not pull in the API it
// serves; config.cpp and config_checks.cpp include config.hpp.)
namespace mailqd::config_detail {

// One section as written: "relay.gmail" on line 12, its keys and their lines.
struct SectionSeen {
    std::string name;
    int line = 0;
    std::map<std::string, int, std::less<>> keys;

    bool has(std::string_view key) const { return keys.find(key) != keys.end(); }
    // The key's line, or the section's when the key was not set.
    int line_of(std::string_view key) const;
};

// Parallel to Config: relays[i] describes config.relays[i].
struct ConfigSeen {
    std::string file;
    bool check_files = true;
    SectionSeen queue{"queue", 0, {}};
    SectionSeen submit{"submit", 0, {}};
    SectionSeen control{"control", 0, {}};
    SectionSeen log{"log", 0, {}};
    SectionSeen metrics{"metrics", 0, {}};
    std::vector<SectionSeen> relays;
    std::vector<SectionSeen> mailboxes;
};

ConfigProblem make_problem(const std::string& file, int line, std::string_view section, std::string_view key,
                           std::string message);

// Fills defaults that depend on other keys (relay/mailbox port by tls,
// mailbox maildir by name, queue hostname) and appends every cross-key and
// file-system problem.
void finish_config(Config& config, const ConfigSeen& seen, std::vector<ConfigProblem>& problems);

}  // namespace mailqd::config_detail
