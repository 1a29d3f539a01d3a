// Command table and personality dispatch (see cli_dispatch.hpp).
#include "cli/cli_dispatch.hpp"

#include <array>
#include <iostream>
#include <string_view>

#include "cli/cli_commands.hpp"
#include "cli/cmd_sendmail.hpp"
#include "cli/exit_codes.hpp"

namespace mailqd {

namespace {

struct Command {
    std::string_view name;
    CommandFn run;
    std::string_view synopsis;
};

// One row per command; the usage text is built from it.
constexpr std::array commands{
    Command{"list", cmd_list, "list [--state STATE] [--json]"},
    Command{"show", cmd_show, "show ID [--json] [--raw]"},
    Command{"retry", cmd_retry, "retry ID... | --all"},
    Command{"hold", cmd_hold, "hold ID... | --all"},
    Command{"release", cmd_release, "release ID... | --all"},
    Command{"delete", cmd_delete, "delete ID..."},
    Command{"stats", cmd_stats, "stats [--json]"},
    Command{"fetch", cmd_fetch, "fetch [MAILBOX...]"},
    Command{"inbox", cmd_inbox,
            "inbox [MAILBOX] [--new] [--json]\n"
            "  mailqctl inbox show HANDLE [--mailbox M] [--json] [--html]\n"
            "  mailqctl inbox save HANDLE --dir DIR [--mailbox M] [--force] [--json]"},
    Command{"submit", cmd_submit, "submit [-f SENDER] [RCPT...] < MESSAGE"},
    Command{"send", cmd_send,
            "send --from A --to A [--cc A] [--bcc A] [--subject S]\n"
            "                [--text T | --text-file F] [--html-file F] [--attach F...] [--inline F...]\n"
            "                [--header 'Name: value']... [--dry-run]"},
};

void print_usage(std::ostream& out)
{
    out << "usage: mailqctl [-c FILE] [--socket PATH] COMMAND [ARGS]\n\ncommands:\n";
    for (const auto& c : commands) out << "  mailqctl " << c.synopsis << '\n';
    out << "\nAlso runs as sendmail [-t] [-i] [-f ADDR] [-F NAME] [-bp] [-q] [RCPT...]\n"
           "and as mailq (= mailqctl list). See mailqctl(1).\n";
}

const Command* find_command(std::string_view name)
{
    for (const auto& c : commands)
        if (c.name == name) return &c;
    return nullptr;
}

Status run_mailqctl(Personality personality, const std::vector<std::string>& args)
{
    auto line = parse_global_options(args);
    if (!line) return line.error();
    if (line->global.version) {
        std::cout << "mailqctl " << MAILQD_VERSION << '\n';
        return {};
    }
    if (line->global.help) {
        print_usage(std::cout);
        return {};
    }
    CliContext context(personality, line->global, std::cin, std::cout);
    if (personality == Personality::mailq) return cmd_list(context, line->args);
    if (line->args.empty())
        return make_error(ErrorKind::usage, "no command given (mailqctl --help lists them)");
    if (line->args.front() == "help") {
        print_usage(std::cout);
        return {};
    }
    const Command* command = find_command(line->args.front());
    if (command == nullptr)
        return make_error(ErrorKind::usage,
                          "unknown command " + line->args.front() + " (mailqctl --help lists them)");
    return command->run(context, CommandArgs(line->args.begin() + 1, line->args.end()));
}

}  // namespace

int run_cli(int argc, char** argv)
{
    std::ios::sync_with_stdio(false);
    Personality personality = personality_from(argc > 0 ? argv[0] : "mailqctl");
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    Status status = personality == Personality::sendmail ? run_sendmail(args, std::cin, std::cout)
                                                         : run_mailqctl(personality, args);
    std::cout.flush();
    return report(program_name(personality), status);
}

}  // namespace mailqd
