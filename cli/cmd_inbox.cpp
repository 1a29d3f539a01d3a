// mailqctl inbox: reads what POP3 fetching wrote into a mailbox's Maildir.
//   inbox [MAILBOX] [--new] [--json]          one row per message, newest first
//   inbox show HANDLE [--mailbox M] [--json] [--html]
//   inbox save HANDLE --dir DIR [--mailbox M] [--force] [--json]
// Decoding is spool/mime_parser's; this file picks the Maildir, shapes the
// output and writes attachments. Everything printed from a message is
// sanitised (it is mail anyone can send).
#include <algorithm>
#include <iostream>
#include <set>

#include "cli/cli_commands.hpp"
#include "cli/inbox_maildir.hpp"
#include "cli/text_format.hpp"
#include "spool/control_protocol.hpp"
#include "spool/message_text.hpp"
#include "spool/mime/mime_parser.hpp"

namespace mailqd {

namespace {

constexpr std::uint64_t max_message_bytes = 512ull << 20;

Json header_or_null(const MimePart& root, std::string_view name)
{
    const MimeField* f = root.field(name);
    return f ? Json(decode_header_text(f->value)) : Json(nullptr);
}

std::string header_text(const MimePart& root, std::string_view name)
{
    const MimeField* f = root.field(name);
    return f ? decode_header_text(f->value) : std::string();
}

Json attachment_json(const MimePart& part, std::size_t index)
{
    return Json{{"index", index},
                {"filename", part.filename.empty() ? Json(nullptr) : Json(part.filename)},
                {"content_type", part.content_type},
                {"disposition", part.disposition.empty() ? Json(nullptr) : Json(part.disposition)},
                {"content_id", part.content_id.empty() ? Json(nullptr) : Json(part.content_id)},
                {"size", part.body.size()}};
}

Json row_json(const MaildirEntry& e, const MimeMessage& m)
{
    return Json{{"handle", e.handle},
                {"folder", e.folder},
                {"received_at", format_time(e.received_at)},
                {"date", header_or_null(m.root, "Date")},
                {"from", header_or_null(m.root, "From")},
                {"subject", header_or_null(m.root, "Subject")},
                {"size", e.size},
                {"attachments", mime_attachments(m.root).size()}};
}

// Prints text line by line, each line sanitised (tabs kept as spaces).
void print_text(std::ostream& out, std::string_view text)
{
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t nl = text.find('\n', at);
        std::string line(text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at));
        for (char& c : line)
            if (c == '\t') c = ' ';
        out << printable(line) << '\n';
        at = nl == std::string_view::npos ? text.size() : nl + 1;
    }
}

struct Opened {
    MaildirEntry entry;
    MimeMessage message;
};

Result<Opened> open_message(CliContext& context, const ParsedArgs& parsed, std::string_view command)
{
    if (parsed.positional.size() != 1)
        return make_error(ErrorKind::usage, "inbox " + std::string(command) + ": give one HANDLE");
    auto maildir = context.maildir(parsed.value("--mailbox").value_or(""));
    if (!maildir) return maildir.error();
    auto entry = find_in_maildir(*maildir, parsed.positional.front());
    if (!entry) return entry.error();
    auto data = read_maildir_file(*entry, max_message_bytes);
    if (!data) return data.error();
    return Opened{*entry, parse_mime(*data)};
}

Status inbox_list(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("inbox", args, {{"--json"}, {"--new"}});
    if (!parsed) return parsed.error();
    if (parsed->positional.size() > 1) return make_error(ErrorKind::usage, "inbox: at most one MAILBOX");
    auto maildir = context.maildir(parsed->positional.empty() ? "" : parsed->positional.front());
    if (!maildir) return maildir.error();
    auto entries = list_maildir(*maildir, parsed->has("--new"));
    if (!entries) return entries.error();
    Json rows = Json::array();
    for (const auto& e : *entries) {
        auto data = read_maildir_file(e, max_message_bytes);
        rows.push_back(row_json(e, parse_mime(data ? *data : std::string())));
    }
    if (parsed->has("--json")) {
        context.out() << dump_line(rows);
        return {};
    }
    for (const auto& r : rows) {
        auto text = [](const Json& j) {
            return j.is_string() ? printable(j.get<std::string>()) : std::string("-");
        };
        context.out() << printable(r["handle"].get<std::string>()) << '\n'
                      << "  " << pad_right(r["received_at"].get<std::string>(), 21)
                      << pad_right(text(r["from"]), 40) << ' ' << format_size(r["size"].get<std::uint64_t>())
                      << " att=" << r["attachments"].get<std::size_t>() << '\n'
                      << "  " << text(r["subject"]) << '\n';
    }
    return {};
}

Json show_json(const Opened& o)
{
    const MimePart& root = o.message.root;
    const MimePart* plain = find_text_part(root, "text/plain");
    const MimePart* html = find_text_part(root, "text/html");
    Json headers = Json::object();
    for (const char* name : {"Date", "From", "To", "Cc", "Reply-To", "Subject", "Message-ID"}) {
        std::string key = ascii_lowercase(name);
        std::replace(key.begin(), key.end(), '-', '_');
        headers[key] = header_or_null(root, name);
    }
    Json attachments = Json::array();
    std::size_t index = 0;
    for (const MimePart* p : mime_attachments(root)) attachments.push_back(attachment_json(*p, ++index));
    std::string html_text = html ? html->text() : std::string();
    return Json{{"handle", o.entry.handle},
                {"folder", o.entry.folder},
                {"received_at", format_time(o.entry.received_at)},
                {"size", o.entry.size},
                {"headers", headers},
                {"text", plain  ? plain->text()
                         : html ? html_to_text(html_text)
                                : std::string()},
                {"text_from_html", plain == nullptr && html != nullptr},
                {"html", html ? Json(html_text) : Json(nullptr)},
                {"attachments", attachments},
                {"problems", o.message.problems}};
}

Status inbox_show(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("inbox show", args, {{"--json"}, {"--html"}, {"--mailbox", true}});
    if (!parsed) return parsed.error();
    auto opened = open_message(context, *parsed, "show");
    if (!opened) return opened.error();
    Json j = show_json(*opened);
    if (parsed->has("--json")) {
        context.out() << dump_line(j);
        return {};
    }
    if (parsed->has("--html") && j["html"].is_null())
        return make_error(ErrorKind::failure, "message " + opened->entry.handle + " has no HTML part");
    std::ostream& out = context.out();
    for (const char* name : {"Date", "From", "To", "Cc", "Subject"})
        if (opened->message.root.field(name) != nullptr)
            out << name << ": " << printable(header_text(opened->message.root, name)) << '\n';
    out << '\n';
    print_text(out, parsed->has("--html") ? j["html"].get<std::string>() : j["text"].get<std::string>());
    if (!j["attachments"].empty()) out << "\nAttachments:\n";
    for (const auto& a : j["attachments"])
        out << "  " << a["index"].get<std::size_t>() << ". "
            << printable(a["filename"].is_string() ? a["filename"].get<std::string>() : "(no name)") << "  "
            << printable(a["content_type"].get<std::string>()) << "  "
            << format_size(a["size"].get<std::uint64_t>()) << '\n';
    return {};
}

Status inbox_save(CliContext& context, const CommandArgs& args)
{
    auto parsed = parse_command_args("inbox save", args,
                                     {{"--dir", true}, {"--force"}, {"--json"}, {"--mailbox", true}});
    if (!parsed) return parsed.error();
    auto dir = parsed->value("--dir");
    if (!dir || dir->empty()) return make_error(ErrorKind::usage, "inbox save: --dir DIR is required");
    auto opened = open_message(context, *parsed, "save");
    if (!opened) return opened.error();
    std::error_code ec;
    std::filesystem::create_directories(*dir, ec);
    if (ec) return make_error(ErrorKind::io, *dir + ": " + ec.message());
    // Names first, all of them, so a clash stops the save before any write.
    auto parts = mime_attachments(opened->message.root);
    std::vector<std::string> names;
    std::set<std::string> taken;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::string name = safe_file_name(parts[i]->filename, i + 1);
        std::string base = name, ext;
        if (std::size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0) {
            base = name.substr(0, dot);
            ext = name.substr(dot);
        }
        for (int n = 2; taken.count(name) != 0; ++n) name = base + "-" + std::to_string(n) + ext;
        taken.insert(name);
        names.push_back(name);
        std::filesystem::path target = std::filesystem::path(*dir) / name;
        if (!parsed->has("--force") &&
            std::filesystem::symlink_status(target, ec).type() != std::filesystem::file_type::not_found)
            return make_error(ErrorKind::failure, target.string() + " exists (--force replaces it)");
    }
    Json saved = Json::array();
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::filesystem::path target = std::filesystem::path(*dir) / names[i];
        if (Status s = write_new_file(target, parts[i]->body, parsed->has("--force")); !s) return s;
        saved.push_back(
            Json{{"filename", names[i]}, {"path", target.string()}, {"size", parts[i]->body.size()}});
        if (!parsed->has("--json"))
            context.out() << printable(target.string()) << " (" << parts[i]->body.size() << " bytes)\n";
    }
    if (parsed->has("--json")) context.out() << dump_line(saved);
    return {};
}

}  // namespace

Status cmd_inbox(CliContext& context, const CommandArgs& args)
{
    if (!args.empty() && args.front() == "show")
        return inbox_show(context, CommandArgs(args.begin() + 1, args.end()));
    if (!args.empty() && args.front() == "save")
        return inbox_save(context, CommandArgs(args.begin() + 1, args.end()));
    return inbox_list(context, args);
}

}  // namespace mailqd
