// mailqctl submit [-f SENDER] [RCPT...]: a message on stdin into the queue
// through the submit socket; prints its queue ID. Without RCPTs the
// recipients come from To:, Cc:, Bcc: (Bcc: removed), as the spool door does.
#include "cli/cmd_submit.hpp"

#include "cli/cli_commands.hpp"
#include "cli/submit_client.hpp"

namespace mailqd {

Result<std::string> submit_stdin(CliContext& context, const SubmitRequest& request, bool dot_ends)
{
    auto hostname = context.hostname();
    if (!hostname) return hostname.error();
    auto socket = context.submit_socket();
    if (!socket) return socket.error();
    std::string raw = read_message(context.in(), dot_ends);
    auto submission = prepare_submission(raw, request, local_identity(*hostname));
    if (!submission) return submission.error();
    SubmitClientOptions options;
    options.helo = *hostname;
    options.dsn = request.dsn;
    options.notify = request.notify;
    auto id = submit_message(*socket, submission->sender, submission->recipients, submission->data, options);
    if (!id) return context.explain(id.error());
    return id;
}

Status cmd_submit(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("submit", args, {{"-f", true}});
    if (!parsed) return parsed.error();
    SubmitRequest request;
    request.sender = parsed->value("-f");
    request.recipients = parsed->positional;
    request.recipients_from_headers = request.recipients.empty();
    request.sender_from_headers = true;
    auto id = submit_stdin(context, request, false);
    if (!id) return id.error().context("submit");
    context.out() << *id << '\n';
    context.out().flush();
    return {};
}

}  // namespace mailqd
