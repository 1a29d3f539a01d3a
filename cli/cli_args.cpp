// Personality, global options and the subcommands' option parser (see
// cli_args.hpp).
#include "cli/cli_args.hpp"

#include <algorithm>

namespace mailqd {

namespace {

Error usage_error(std::string message) { return make_error(ErrorKind::usage, std::move(message)); }

bool starts_with(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

// "--name=value" or "--name" followed by a value: sets value and advances i.
// Returns false when arg is not this option.
Result<bool> take_long_value(const std::vector<std::string>& args, std::size_t& i, std::string_view name,
                             std::string& value)
{
    std::string_view arg = args[i];
    if (arg == name) {
        if (i + 1 >= args.size()) return usage_error(std::string(name) + " needs a value");
        value = args[++i];
        return true;
    }
    if (starts_with(arg, name) && arg.size() > name.size() && arg[name.size()] == '=') {
        value = std::string(arg.substr(name.size() + 1));
        return true;
    }
    return false;
}

}  // namespace

Personality personality_from(std::string_view argv0)
{
    auto slash = argv0.rfind('/');
    std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
    // Debian's alternatives and packagers sometimes name the link
    // "sendmail.mailqd"; the part before the first dot decides.
    base = base.substr(0, base.find('.'));
    if (base == "sendmail") return Personality::sendmail;
    if (base == "mailq") return Personality::mailq;
    return Personality::mailqctl;
}

std::string_view program_name(Personality personality)
{
    switch (personality) {
        case Personality::sendmail: return "sendmail";
        case Personality::mailq: return "mailq";
        case Personality::mailqctl: break;
    }
    return "mailqctl";
}

Result<CommandLine> parse_global_options(const std::vector<std::string>& args)
{
    CommandLine line;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_ended) {
            line.args.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_ended = true;
            line.args.push_back(arg);  // the subcommand sees it too
            continue;
        }
        std::string value;
        if (arg == "-c" || arg == "--config" || starts_with(arg, "--config=")) {
            auto taken = take_long_value(args, i, arg == "-c" ? "-c" : "--config", value);
            if (!taken) return taken.error();
            line.global.config = value;
        } else if (starts_with(arg, "-c") && arg.size() > 2 && arg[2] != '-') {
            line.global.config = arg.substr(2);
        } else if (arg == "--socket" || starts_with(arg, "--socket=")) {
            auto taken = take_long_value(args, i, "--socket", value);
            if (!taken) return taken.error();
            line.global.socket = value;
        } else if (arg == "-h" || arg == "--help") {
            line.global.help = true;
        } else if (arg == "--version") {
            line.global.version = true;
        } else {
            line.args.push_back(arg);
        }
        if ((line.global.config && line.global.config->empty()) ||
            (line.global.socket && line.global.socket->empty()))
            return usage_error(arg + ": empty path");
    }
    return line;
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const
{
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

namespace {

const OptionSpec* find_spec(std::initializer_list<OptionSpec> spec, std::string_view name)
{
    auto it = std::find_if(spec.begin(), spec.end(), [&](const OptionSpec& s) { return s.name == name; });
    return it == spec.end() ? nullptr : it;
}

// One option argument at args[i]; may consume args[i + 1] as its value.
Status parse_one_option(std::string_view command, const std::vector<std::string>& args, std::size_t& i,
                        std::initializer_list<OptionSpec> spec, ParsedArgs& out)
{
    std::string_view arg = args[i];
    std::string_view name = arg;
    std::optional<std::string> inline_value;
    if (starts_with(arg, "--")) {
        auto eq = arg.find('=');
        if (eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            inline_value = std::string(arg.substr(eq + 1));
        }
    } else if (arg.size() > 2) {
        // "-fvalue": a short option with its value attached.
        name = arg.substr(0, 2);
        inline_value = std::string(arg.substr(2));
    }
    const OptionSpec* s = find_spec(spec, name);
    if (s == nullptr) return usage_error(std::string(command) + ": unknown option " + std::string(arg));
    std::string value;
    if (s->takes_value) {
        if (inline_value) {
            value = *inline_value;
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            return usage_error(std::string(command) + ": " + std::string(name) + " needs a value");
        }
    } else if (inline_value) {
        return usage_error(std::string(command) + ": " + std::string(name) + " takes no value");
    }
    out.options[std::string(name)] = value;
    return {};
}

}  // namespace

Result<ParsedArgs> parse_command_args(std::string_view command, const std::vector<std::string>& args,
                                      std::initializer_list<OptionSpec> spec)
{
    ParsedArgs out;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_ended || arg.size() < 2 || arg[0] != '-') {
            out.positional.push_back(arg);
        } else if (arg == "--") {
            options_ended = true;
        } else if (auto status = parse_one_option(command, args, i, spec, out); !status) {
            return status.error();
        }
    }
    return out;
}

}  // namespace mailqd
