// mailqctl send: composes a MIME message from options (issue 5) with the
// spool/ MIME builder and submits it through the submit socket like
// "mailqctl submit" (Bcc only in the envelope); --dry-run prints it instead.
// Trusts nothing on the command line: values are checked by the builder
// (header injection, UTF-8, addresses), files are read whole with their
// errors reported as one line, and nothing is queued unless all of it is good.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <random>

#include "cli/cli_commands.hpp"
#include "cli/submission.hpp"
#include "cli/submit_client.hpp"
#include "spool/mime/mime_builder.hpp"

namespace mailqd {

namespace {

struct SendOptions {
    std::optional<std::string> from, subject, text, text_file, html_file;
    std::vector<std::string> to, cc, bcc, attach, inline_files, headers;
    bool dry_run = false;
};

Error usage(const std::string& what) { return make_error(ErrorKind::usage, what); }

// Where each option's value goes. List options may repeat; --attach and
// --inline also take the file names that follow them ("--attach a b c").
struct OptionSlots {
    std::vector<std::pair<std::string_view, std::optional<std::string>*>> single;
    std::vector<std::pair<std::string_view, std::vector<std::string>*>> lists;

    explicit OptionSlots(SendOptions& o)
        : single{{"--from", &o.from},
                 {"--subject", &o.subject},
                 {"--text", &o.text},
                 {"--text-file", &o.text_file},
                 {"--html-file", &o.html_file}},
          lists{{"--to", &o.to},
                {"--cc", &o.cc},
                {"--bcc", &o.bcc},
                {"--attach", &o.attach},
                {"--inline", &o.inline_files},
                {"--header", &o.headers}}
    {
    }
};

Result<SendOptions> parse_send_args(const CommandArgs& args)
{
    SendOptions o;
    OptionSlots slots(o);
    std::vector<std::string>* file_list = nullptr;  // --attach/--inline taking more names
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "--dry-run") {
            o.dry_run = true;
            file_list = nullptr;
            continue;
        }
        if (arg.rfind("--", 0) != 0 || arg == "--") {
            if (!file_list || arg == "--") return usage("unexpected argument '" + arg + "'");
            file_list->push_back(arg);
            continue;
        }
        std::optional<std::string> value;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
        }
        auto single = std::find_if(slots.single.begin(), slots.single.end(),
                                   [&](const auto& s) { return s.first == arg; });
        auto list = std::find_if(slots.lists.begin(), slots.lists.end(),
                                 [&](const auto& s) { return s.first == arg; });
        if (single == slots.single.end() && list == slots.lists.end()) return usage("unknown option " + arg);
        if (!value) {
            if (i + 1 >= args.size()) return usage(arg + " needs a value");
            value = args[++i];
        }
        file_list = nullptr;
        if (single != slots.single.end()) {
            if (*single->second) return usage(arg + " given twice");
            *single->second = std::move(*value);
        } else {
            list->second->push_back(std::move(*value));
            if (arg == "--attach" || arg == "--inline") file_list = list->second;
        }
    }
    if (o.text && o.text_file) return usage("--text and --text-file cannot be used together");
    if (o.text_file && o.html_file && *o.text_file == "-" && *o.html_file == "-")
        return usage("only one of --text-file and --html-file can be - (stdin)");
    return o;
}

Result<std::string> read_file(const std::string& option, const std::string& path)
{
    auto fail = [&](int err) {
        return make_error(ErrorKind::usage, option + " " + path + ": " + std::strerror(err));
    };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return fail(errno);
    std::string data;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        return fail(EISDIR);
    }
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return fail(err);
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
}

Result<std::string> read_body(CliContext& context, const std::string& option, const std::string& path)
{
    if (path != "-") return read_file(option, path);
    return std::string(std::istreambuf_iterator<char>(context.in()), std::istreambuf_iterator<char>());
}

Status add_files(const std::string& option, const std::vector<std::string>& paths, std::vector<MimeFile>& out)
{
    for (const auto& path : paths) {
        auto data = read_file(option, path);
        if (!data) return data.error();
        out.push_back(MimeFile{std::filesystem::path(path).filename().string(), std::move(*data), ""});
    }
    return {};
}

Status add_headers(const std::vector<std::string>& headers, MimeDraft& draft)
{
    for (const auto& h : headers) {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0)
            return usage("--header '" + h + "' is not 'Name: value'");
        std::size_t start = h.find_first_not_of(" \t", colon + 1);
        draft.headers.emplace_back(h.substr(0, colon), start == std::string::npos ? "" : h.substr(start));
    }
    return {};
}

Result<MimeDraft> make_draft(CliContext& context, const SendOptions& o, const std::string& hostname)
{
    MimeDraft d;
    d.from = o.from ? *o.from : local_identity(hostname).user + "@" + hostname;
    d.to = o.to;
    d.cc = o.cc;
    d.bcc = o.bcc;
    d.subject = o.subject.value_or("");
    d.hostname = hostname;
    d.now = now_seconds();
    d.seed = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    d.text = o.text;
    if (o.text_file) {
        auto text = read_body(context, "--text-file", *o.text_file);
        if (!text) return text.error();
        d.text = std::move(*text);
    }
    if (o.html_file) {
        auto html = read_body(context, "--html-file", *o.html_file);
        if (!html) return html.error();
        d.html = std::move(*html);
    }
    if (auto s = add_files("--attach", o.attach, d.attachments); !s) return s.error();
    if (auto s = add_files("--inline", o.inline_files, d.inline_images); !s) return s.error();
    if (auto s = add_headers(o.headers, d); !s) return s.error();
    return d;
}

}  // namespace

Status cmd_send(CliContext& context, const CommandArgs& args)
{
    auto options = parse_send_args(args);
    if (!options) return options.error().context("send");
    auto hostname = context.hostname();
    if (!hostname) return hostname.error();
    auto draft = make_draft(context, *options, *hostname);
    if (!draft) return draft.error().context("send");
    auto message = compose_message(*draft);
    if (!message) return message.error().context("send");
    if (options->dry_run) {
        context.out() << message->data;
        context.out().flush();
        return {};
    }
    auto socket = context.submit_socket();
    if (!socket) return socket.error();
    SubmitClientOptions submit;
    submit.helo = *hostname;
    auto id = submit_message(*socket, message->sender, message->recipients, message->data, submit);
    if (!id) return id.error().context("send");
    context.out() << *id << '\n';
    context.out().flush();
    return {};
}

}  // namespace mailqd
