// Reads mailqd.conf: Boost.ProgramOptions parses the INI text (with
// allow_unregistered, options in file order), and one scan of the same text
// maps every "section.key" occurrence to its line, since program_options
// gives none. Every key goes through the table in config_keys.cpp; every
// problem is collected, none stops the load. Trusts nothing in the file.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "spool/config.hpp"
#include "spool/config_checks.hpp"
#include "spool/text_sanitize.hpp"

namespace po = boost::program_options;

namespace mailqd {
namespace {

using config_detail::ConfigSeen;
using config_detail::make_problem;
using config_detail::SectionSeen;

// The whitespace program_options trims around names and values.
constexpr std::string_view blanks = " \t\r\n";

std::string_view trim(std::string_view s)
{
    auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    auto last = s.find_last_not_of(blanks);
    return s.substr(first, last - first + 1);
}

struct ScannedSection {
    int line = 0;
    std::string name;  // between the brackets: "relay.gmail"
};

struct ScannedKey {
    int line = 0;
    int section_line = 0;  // 0: before any [section]
    std::string section;   // name of the enclosing section
    std::string key;
    std::string full;  // as program_options names it: "relay.gmail.port"
};

struct Scan {
    std::vector<ScannedSection> sections;
    std::vector<ScannedKey> keys;
    std::string clean_text;  // the text with unparsable lines blanked, for program_options
};

// program_options' own rule for the prefix a [section] gives its keys.
std::string option_prefix(const std::string& section)
{
    if (section.empty()) return ".";
    return section.back() == '.' ? section : section + ".";
}

// One pass over the text, reading lines as program_options does ('#' starts
// a comment anywhere). Lines it would reject are reported here and blanked,
// so it parses the rest and every problem is found in one run.
Scan scan_text(const std::string& text, const std::string& file, std::vector<ConfigProblem>& problems)
{
    Scan scan;
    std::istringstream in(text);
    std::string raw;
    std::string prefix;
    std::string section;
    int section_line = 0;
    for (int line = 1; std::getline(in, raw); ++line) {
        std::string_view s = raw;
        s = trim(s.substr(0, s.find('#')));
        std::string clean = raw;
        if (s.empty()) {
            // blank or comment: nothing to map
        } else if (s.front() == '[' && s.back() == ']') {
            section = std::string(s.substr(1, s.size() - 2));
            prefix = option_prefix(section);
            section_line = line;
            scan.sections.push_back({line, section});
            if (section.empty()) clean = "[.]";  // program_options cannot take "[]"
        } else if (auto eq = s.find('='); eq != std::string_view::npos && !trim(s.substr(0, eq)).empty()) {
            std::string key(trim(s.substr(0, eq)));
            scan.keys.push_back({line, section_line, section, key, prefix + key});
        } else {
            problems.push_back(make_problem(
                file, line, "", "",
                "cannot parse \"" + std::string(s) + "\": expected [section], key = value or # comment"));
            clean.clear();
        }
        scan.clean_text += clean;
        scan.clean_text += '\n';
    }
    return scan;
}

// Where the keys of one [section] go; valid is false for a bad section,
// whose keys are then skipped (the section itself was reported).
struct SectionState {
    SectionKind kind = SectionKind::queue;
    bool valid = false;
    std::size_t index = 0;  // into relays or mailboxes
    SectionTarget target;
    SectionSeen* seen = nullptr;
};

bool valid_section_name(std::string_view name)
{
    if (name.empty()) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

class Loader {
public:
    Loader(std::string file, bool check_files, std::vector<ConfigProblem>& problems) : problems_(problems)
    {
        seen_.file = std::move(file);
        seen_.check_files = check_files;
        config_.file = seen_.file;
    }

    void add_sections(const std::vector<ScannedSection>& sections);
    void add_option(const ScannedKey& where, const std::string& value);
    Config finish();

private:
    void problem(int line, std::string_view section, std::string_view key, std::string message)
    {
        problems_.push_back(make_problem(seen_.file, line, section, key, std::move(message)));
    }
    SectionState classify(const ScannedSection& section);

    std::vector<ConfigProblem>& problems_;
    Config config_;
    ConfigSeen seen_;
    std::map<std::string, SectionState> states_;  // by section name
};

SectionState Loader::classify(const ScannedSection& s)
{
    auto fixed = [&](SectionKind kind, SectionTarget target, SectionSeen& seen) {
        seen.line = s.line;
        return SectionState{kind, true, 0, target, &seen};
    };
    if (s.name == "queue") return fixed(SectionKind::queue, &config_.queue, seen_.queue);
    if (s.name == "submit") return fixed(SectionKind::submit, &config_.submit, seen_.submit);
    if (s.name == "control") return fixed(SectionKind::control, &config_.control, seen_.control);
    if (s.name == "log") return fixed(SectionKind::log, &config_.log, seen_.log);
    if (s.name == "metrics") return fixed(SectionKind::metrics, &config_.metrics, seen_.metrics);
    for (auto kind : {SectionKind::relay, SectionKind::mailbox}) {
        std::string head = std::string(to_string(kind)) + ".";
        if (s.name != to_string(kind) && s.name.rfind(head, 0) != 0) continue;
        std::string name = s.name.size() > head.size() ? s.name.substr(head.size()) : "";
        if (!valid_section_name(name)) {
            problem(s.line, s.name, "", "needs a NAME of letters, digits, _ . - as in [" + head + "NAME]");
            return {kind, false, 0, {}, nullptr};
        }
        // Pointers into the vectors are taken once they stop growing.
        if (kind == SectionKind::relay) {
            config_.relays.emplace_back().name = name;
            seen_.relays.push_back(SectionSeen{s.name, s.line, {}});
            return {kind, true, config_.relays.size() - 1, {}, nullptr};
        }
        config_.mailboxes.emplace_back().name = name;
        seen_.mailboxes.push_back(SectionSeen{s.name, s.line, {}});
        return {kind, true, config_.mailboxes.size() - 1, {}, nullptr};
    }
    if (s.name.empty()) {
        problem(s.line, "", "", "empty section name []");
        return {};
    }
    problem(s.line, s.name, "",
            "unknown section (expected queue, submit, control, log, metrics, relay.NAME or mailbox.NAME)");
    return {};
}

void Loader::add_sections(const std::vector<ScannedSection>& sections)
{
    std::map<std::string, int> first_line;
    for (const auto& s : sections) {
        if (auto it = first_line.find(s.name); it != first_line.end()) {
            problem(s.line, s.name, "",
                    "duplicate section (first on line " + std::to_string(it->second) + ")");
            continue;
        }
        first_line[s.name] = s.line;
        states_[s.name] = classify(s);
    }
    for (auto& [name, state] : states_) {
        if (!state.valid) continue;
        if (state.kind == SectionKind::relay) {
            state.target = &config_.relays[state.index];
            state.seen = &seen_.relays[state.index];
        } else if (state.kind == SectionKind::mailbox) {
            state.target = &config_.mailboxes[state.index];
            state.seen = &seen_.mailboxes[state.index];
        }
    }
}

void Loader::add_option(const ScannedKey& where, const std::string& value)
{
    if (where.section_line == 0) {
        problem(where.line, "", where.key, "is outside any [section]");
        return;
    }
    auto it = states_.find(where.section);
    if (it == states_.end() || !it->second.valid) return;  // the section was reported
    const SectionState& state = it->second;
    const ConfigKey* key = find_config_key(state.kind, where.key);
    if (!key) {
        problem(where.line, where.section, where.key, "unknown key");
        return;
    }
    auto [first, inserted] = state.seen->keys.emplace(where.key, where.line);
    if (!inserted) {
        problem(where.line, where.section, where.key,
                "duplicate key (first set on line " + std::to_string(first->second) + ")");
        return;
    }
    if (auto why = key->apply(state.target, value); !why.empty())
        problem(where.line, where.section, where.key, why);
}

Config Loader::finish()
{
    config_detail::finish_config(config_, seen_, problems_);
    return std::move(config_);
}

// Runs program_options over the cleaned text and hands each option, with the
// line the scan found for that occurrence of its name, to the loader.
void feed_options(const Scan& scan, Loader& loader, const std::string& file,
                  std::vector<ConfigProblem>& problems)
{
    std::map<std::string, std::deque<const ScannedKey*>> occurrences;
    for (const auto& key : scan.keys) occurrences[key.full].push_back(&key);
    try {
        std::istringstream in(scan.clean_text);
        po::options_description none;
        auto parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
        for (const auto& option : parsed.options) {
            auto& queue = occurrences[option.string_key];
            if (queue.empty() || option.value.size() != 1) {
                problems.push_back(
                    make_problem(file, 0, "", option.string_key, "cannot locate this key in the file"));
                continue;
            }
            loader.add_option(*queue.front(), option.value.front());
            queue.pop_front();
        }
    } catch (const std::exception& e) {
        problems.push_back(make_problem(file, 0, "", "", std::string("cannot parse: ") + e.what()));
    }
}

}  // namespace

std::string ConfigProblem::to_string() const
{
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
    std::string_view sec = section;
    std::string_view name = key;
    if (sec.empty() && name.rfind('.') != std::string_view::npos) {
        sec = name.substr(0, name.rfind('.'));
    }
    if (!sec.empty() && name.size() > sec.size() && name.substr(0, sec.size()) == sec &&
        name[sec.size()] == '.')
        name.remove_prefix(sec.size() + 1);
    if (!sec.empty()) out += "[" + std::string(sec) + "] ";
    if (!name.empty()) out += std::string(name) + ": ";
    out += message;
    // One line on a terminal, whatever bytes the file held.
    return printable(out);
}

const RelayConfig* Config::relay(std::string_view name) const
{
    for (const auto& r : relays)
        if (r.name == name) return &r;
    return nullptr;
}

const MailboxConfig* Config::mailbox(std::string_view name) const
{
    for (const auto& m : mailboxes)
        if (m.name == name) return &m;
    return nullptr;
}

const RelayConfig* Config::relay_for_sender(std::string_view sender) const
{
    for (const auto& r : relays)
        for (const auto& glob : r.senders)
            if (glob_match(glob, sender)) return &r;
    return relays.empty() ? nullptr : &relays.front();
}

ConfigLoad parse_config(const std::string& text, const std::string& file_name,
                        const ConfigLoadOptions& options)
{
    ConfigLoad load;
    Scan scan = scan_text(text, file_name, load.problems);
    Loader loader(file_name, options.check_files, load.problems);
    loader.add_sections(scan.sections);
    feed_options(scan, loader, file_name, load.problems);
    Config config = loader.finish();
    // In file order, as an admin reads them; problems of the whole file last.
    std::stable_sort(load.problems.begin(), load.problems.end(),
                     [](const ConfigProblem& a, const ConfigProblem& b) {
                         auto rank = [](int line) { return line > 0 ? line : INT_MAX; };
                         return rank(a.line) < rank(b.line);
                     });
    if (load.problems.empty()) load.config = std::move(config);
    return load;
}

ConfigLoad load_config(const std::filesystem::path& file, const ConfigLoadOptions& options)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        int err = errno;
        ConfigLoad load;
        load.problems.push_back(
            make_problem(file.string(), 0, "", "", std::string("cannot read: ") + std::strerror(err)));
        return load;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), file.string(), options);
}

std::filesystem::path default_config_path()
{
    const char* env = std::getenv("MAILQD_CONFIG");
    if (env && *env) return env;
    return "/etc/mailqd/mailqd.conf";
}

}  // namespace mailqd
