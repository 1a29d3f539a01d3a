// mailqctl list, show, retry, hold, release, delete, stats: one control
// request each, printed as a table or, with --json, as the daemon sent it.
// Trusts the daemon's answer only through queue_format (sanitised, defensive).
#include <iostream>

#include "cli/cli_commands.hpp"
#include "cli/control_client.hpp"
#include "cli/queue_format.hpp"
#include "cli/text_format.hpp"

namespace mailqd {

namespace {

Error usage(std::string message) { return make_error(ErrorKind::usage, std::move(message)); }

Result<ControlReply> ask(CliContext& context, const Json& request)
{
    auto socket = context.control_socket();
    if (!socket) return socket.error();
    auto reply = control_request(*socket, request);
    if (!reply) return context.explain(reply.error());
    return reply;
}

// Sends the request and prints the result: raw JSON or the rendered table.
Status ask_and_print(CliContext& context, const Json& request, bool json,
                     std::string (*render)(const Json&, TimePoint))
{
    auto reply = ask(context, request);
    if (!reply) return reply.error();
    if (json)
        context.out() << raw_result(reply->line) << '\n';
    else
        context.out() << render(reply->result, now_seconds());
    context.out().flush();
    return {};
}

// retry, hold, release, delete: IDs or --all (delete takes no --all: one
// mistyped command must not empty the queue).
Status change(CliContext& context, const CommandArgs& args, const std::string& cmd, const char* done_word,
              bool allow_all)
{
    auto parsed = allow_all ? parse_command_args(cmd, args, {{"--all"}}) : parse_command_args(cmd, args, {});
    if (!parsed) return parsed.error();
    bool all = parsed->has("--all");
    if (all == !parsed->positional.empty())
        return usage(cmd + ": give queue IDs" + (allow_all ? " or --all" : ""));
    Json request{{"cmd", cmd}};
    if (all)
        request["all"] = true;
    else
        request["ids"] = parsed->positional;
    auto reply = ask(context, request);
    if (!reply) return reply.error();
    std::size_t n = 0;
    if (reply->result.is_object() && reply->result.contains("ids") && reply->result["ids"].is_array())
        n = reply->result["ids"].size();
    context.out() << done_word << ' ' << n << (n == 1 ? " message\n" : " messages\n");
    context.out().flush();
    return {};
}

}  // namespace

Status cmd_list(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("list", args, {{"--json"}, {"--state", true}});
    if (!parsed) return parsed.error();
    if (!parsed->positional.empty()) return usage("list: unexpected argument " + parsed->positional.front());
    Json request{{"cmd", "list"}};
    if (auto state = parsed->value("--state")) {
        if (!recipient_state_from(*state))
            return usage("list: unknown state " + printable(*state) +
                         " (queued, deferred, held, sent, failed)");
        request["state"] = *state;
    }
    return ask_and_print(context, request, parsed->has("--json"), render_list);
}

Status cmd_show(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("show", args, {{"--json"}, {"--raw"}});
    if (!parsed) return parsed.error();
    if (parsed->positional.size() != 1) return usage("show: give one queue ID");
    bool raw = parsed->has("--raw");
    Json request{{"cmd", "show"}, {"id", parsed->positional.front()}};
    if (raw) request["raw"] = true;
    if (!raw || parsed->has("--json"))
        return ask_and_print(context, request, parsed->has("--json"), render_show);
    auto reply = ask(context, request);
    if (!reply) return reply.error();
    // The stored message, byte for byte (postcat-style), for piping.
    if (reply->result.is_object() && reply->result.contains("raw") && reply->result["raw"].is_string())
        context.out() << reply->result["raw"].get<std::string>();
    context.out().flush();
    return {};
}

Status cmd_retry(CliContext& context, const CommandArgs& args)
{
    return change(context, args, "retry", "retrying", true);
}

Status cmd_hold(CliContext& context, const CommandArgs& args)
{
    return change(context, args, "hold", "held", true);
}

Status cmd_release(CliContext& context, const CommandArgs& args)
{
    return change(context, args, "release", "released", true);
}

Status cmd_delete(CliContext& context, const CommandArgs& args)
{
    return change(context, args, "delete", "deleted", false);
}

Status cmd_stats(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("stats", args, {{"--json"}});
    if (!parsed) return parsed.error();
    if (!parsed->positional.empty()) return usage("stats: unexpected argument " + parsed->positional.front());
    return ask_and_print(context, {{"cmd", "stats"}}, parsed->has("--json"), render_stats);
}

}  // namespace mailqd
