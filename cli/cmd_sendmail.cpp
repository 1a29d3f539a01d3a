// sendmail flags and the sendmail personality (see cmd_sendmail.hpp).
#include "cli/cmd_sendmail.hpp"

#include <unistd.h>
#include <string_view>

#include "cli/cli_commands.hpp"
#include "cli/cmd_submit.hpp"
#include "cli/sendmail_smtp.hpp"
#include "cli/text_format.hpp"
#include "spool/message_text.hpp"

namespace mailqd {

namespace {

Error usage(std::string message) { return make_error(ErrorKind::usage, std::move(message)); }

// Letters that take a value (attached or the next argument). Only b, B, C,
// F, f, N, R, r, V and o mean something here; the rest are read and
// ignored, so their values are not taken for recipients.
constexpr std::string_view letters_with_value = "ABbCdFfhLMNOopRrVX";
// Letters without a value, all ignored except i and t.
constexpr std::string_view letters_plain = "GIimnstUv";

Status apply_value(char letter, const std::string& value, SendmailOptions& options)
{
    switch (letter) {
        case 'f':
        case 'r': options.sender = value; break;
        case 'F': options.full_name = value; break;
        case 'C': options.config = value; break;
        case 'o':
            if (value == "i") options.ignore_dots = true;  // other -oX: delivery mode, error mode: ours
            break;
        case 'b':
            if (value == "p")
                options.mode = SendmailOptions::Mode::list;
            else if (value == "s")
                options.mode = SendmailOptions::Mode::smtp;
            else if (value != "m")
                return usage("-b" + printable(value) + " is not supported (only -bm, -bp and -bs)");
            break;
        case 'N': {
            auto notify = parse_dsn_notify(value);
            if (!notify)
                return usage("-N " + printable(value, 100) +
                             ": not a DSN notification (never, or a list of success, failure, delay)");
            options.notify = *notify;
            break;
        }
        case 'R': {
            auto ret = parse_dsn_ret(value);
            if (!ret) return usage("-R " + printable(value, 100) + ": not a DSN return type (full or hdrs)");
            options.dsn.ret = *ret;
            break;
        }
        case 'V':
            if (!valid_envid(value))
                return usage("-V " + printable(value, 100) +
                             ": an envelope ID is 1 to 100 printable ASCII characters");
            options.dsn.envid = value;
            break;
        case 'B':
            // The submit client says BODY=8BITMIME by itself when the message
            // has 8-bit bytes; the value is only checked, as Postfix does.
            if (!iequals(value, "7BIT") && !iequals(value, "8BITMIME"))
                return usage("-B " + printable(value, 100) + ": the body type is 7BIT or 8BITMIME");
            break;
        default: break;  // -h, -L, -O, -X ...: ignored
    }
    return {};
}

// One "-xyz" cluster at args[i]; may consume args[i + 1] as a value.
Status parse_cluster(const std::vector<std::string>& args, std::size_t& i, SendmailOptions& options)
{
    const std::string& arg = args[i];
    for (std::size_t k = 1; k < arg.size(); ++k) {
        char letter = arg[k];
        if (letter == 'q') {
            options.mode = SendmailOptions::Mode::retry;  // -q, -q15m, -qIid: run the queue now
            return {};
        }
        if (letters_plain.find(letter) != std::string_view::npos) {
            if (letter == 'i') options.ignore_dots = true;
            if (letter == 't') options.extract_recipients = true;
            continue;
        }
        if (letters_with_value.find(letter) == std::string_view::npos)
            return usage(std::string("unknown option -") + printable(std::string(1, letter)));
        std::string value;
        if (k + 1 < arg.size())
            value = arg.substr(k + 1);
        else if (i + 1 < args.size())
            value = args[++i];
        else
            return usage(std::string("-") + letter + " needs a value");
        return apply_value(letter, value, options);
    }
    return {};
}

}  // namespace

Result<SendmailOptions> parse_sendmail_args(const std::vector<std::string>& args)
{
    SendmailOptions options;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_ended || arg.size() < 2 || arg[0] != '-') {
            options.recipients.push_back(arg);
        } else if (arg == "--") {
            options_ended = true;
        } else if (auto status = parse_cluster(args, i, options); !status) {
            return status.error();
        }
    }
    return options;
}

Status run_sendmail(const std::vector<std::string>& args, std::istream& in, std::ostream& out)
{
    auto options = parse_sendmail_args(args);
    if (!options) return options.error();
    GlobalOptions global;
    global.config = options->config;
    CliContext context(Personality::sendmail, global, in, out);
    switch (options->mode) {
        case SendmailOptions::Mode::list: return cmd_list(context, {});
        case SendmailOptions::Mode::retry: return cmd_retry(context, {"--all"});
        case SendmailOptions::Mode::smtp: {
            // Envelope flags (-f, -t, recipients) do not apply: the client
            // gives the envelope in SMTP, as with Postfix's sendmail -bs.
            auto socket = context.submit_socket();
            if (!socket) return socket.error();
            if (auto relayed = relay_smtp_session(*socket, STDIN_FILENO, STDOUT_FILENO); !relayed)
                return context.explain(relayed.error());
            return {};
        }
        case SendmailOptions::Mode::send: break;
    }
    if (!options->extract_recipients && options->recipients.empty())
        return usage("no recipients given (name them, or use -t to read them from the headers)");
    SubmitRequest request;
    request.sender = options->sender;
    request.recipients = options->recipients;
    request.recipients_from_headers = options->extract_recipients;
    request.add_from = true;
    request.lenient_headers = true;
    request.full_name = options->full_name;
    request.dsn = options->dsn;
    request.notify = options->notify;
    auto id = submit_stdin(context, request, !options->ignore_dots);
    if (!id) return id.error();
    return {};
}

}  // namespace mailqd
