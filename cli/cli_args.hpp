// Command-line parsing for mailqctl: which personality (mailqctl, sendmail,
// mailq, from argv[0]), the global options (-c FILE, --socket PATH) and a
// small option parser the subcommands share.
// Trusts nothing on the command line: every error is a usage Error (exit 64)
// that names the offending argument.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/result.hpp"

namespace mailqd {

enum class Personality { mailqctl, sendmail, mailq };

// From argv[0]'s basename: "sendmail" and "mailq" switch modes (also
// "sendmail.mailqd"-style alternatives names), anything else is mailqctl.
Personality personality_from(std::string_view argv0);

// The prefix of error lines: "mailqctl" or "sendmail" (mailq reports as mailq).
std::string_view program_name(Personality personality);

struct GlobalOptions {
    std::optional<std::filesystem::path> config;  // -c FILE (sendmail: -C FILE)
    std::optional<std::filesystem::path> socket;  // --socket PATH: the control socket
    bool help = false;                            // -h, --help
    bool version = false;                         // --version
};

struct CommandLine {
    GlobalOptions global;
    std::vector<std::string> args;  // mailqctl: the command and its arguments
};

// mailqctl: takes -c FILE, -cFILE, --config[=]FILE, --socket[=]PATH, --help and
// --version wherever they appear before "--", so "mailqctl list -c f" works as
// "mailqctl -c f list". The rest is returned in order.
Result<CommandLine> parse_global_options(const std::vector<std::string>& args);

// A subcommand's options, parsed against a spec.
struct OptionSpec {
    std::string_view name;  // "--json", "--state", "-f"
    bool takes_value = false;
};

struct ParsedArgs {
    std::map<std::string, std::string, std::less<>> options;  // name -> value ("" for flags)
    std::vector<std::string> positional;

    bool has(std::string_view name) const { return options.find(name) != options.end(); }
    std::optional<std::string> value(std::string_view name) const;
};

// Accepts "--name", "--name=value", "--name value", "-f value", "-fvalue";
// options and positionals may be mixed; "--" ends the options. command is
// named in errors: "list: unknown option --foo".
Result<ParsedArgs> parse_command_args(std::string_view command, const std::vector<std::string>& args,
                                      std::initializer_list<OptionSpec> spec);

}  // namespace mailqd
