// Command-line parser of the submit door; see submit_commands.hpp.
#include "daemon/submit/submit_commands.hpp"
#include "spool/message_text.hpp"

#include <array>
#include <utility>

namespace mailqd {
namespace {

bool istarts_with(std::string_view text, std::string_view prefix)
{
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s)
{
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

constexpr std::array<std::pair<std::string_view, SubmitVerb>, 11> verbs{{
    {"ehlo", SubmitVerb::ehlo},
    {"helo", SubmitVerb::helo},
    {"lhlo", SubmitVerb::lhlo},
    {"mail", SubmitVerb::mail},
    {"rcpt", SubmitVerb::rcpt},
    {"data", SubmitVerb::data},
    {"rset", SubmitVerb::rset},
    {"noop", SubmitVerb::noop},
    {"quit", SubmitVerb::quit},
    {"vrfy", SubmitVerb::vrfy},
    {"help", SubmitVerb::help},
}};

SubmitVerb verb_from(std::string_view word)
{
    for (const auto& [name, verb] : verbs)
        if (iequals(word, name)) return verb;
    return SubmitVerb::unknown;
}

// The end of a bracketed path starting at text[0] == '<': the index of the
// closing '>', skipping quoted strings ("a>b"@c) and their backslash escapes.
std::optional<std::size_t> closing_bracket(std::string_view text)
{
    bool quoted = false;
    for (std::size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        if (quoted && c == '\\') {
            ++i;
            continue;
        }
        if (c == '"')
            quoted = !quoted;
        else if (c == '>' && !quoted)
            return i;
        else if (c == '<' && !quoted)
            return std::nullopt;
    }
    return std::nullopt;
}

// Splits "<path> params" or "addr params" into the address and the rest.
// Returns false when the brackets do not close.
bool split_path(std::string_view text, std::string& address, std::string_view& rest)
{
    text = trim(text);
    if (text.empty()) return false;
    if (text.front() == '<') {
        auto end = closing_bracket(text);
        if (!end) return false;
        std::string_view path = text.substr(1, *end - 1);
        rest = text.substr(*end + 1);
        if (!rest.empty() && !is_space(rest.front())) return false;
        // RFC 5321 4.1.2: a source route "@a,@b:" is accepted and ignored.
        if (!path.empty() && path.front() == '@') {
            auto colon = path.find(':');
            if (colon == std::string_view::npos) return false;
            path.remove_prefix(colon + 1);
        }
        address.assign(path);
        return true;
    }
    auto space = text.find_first_of(" \t");
    address.assign(text.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view{} : text.substr(space);
    return true;
}

std::optional<std::uint64_t> parse_size(std::string_view digits)
{
    if (digits.empty() || digits.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        std::uint64_t next = value * 10 + static_cast<std::uint64_t>(c - '0');
        if (next / 10 != value) return std::nullopt;  // overflow
        value = next;
    }
    return value;
}

// One "KEY[=VALUE]" of MAIL FROM; returns an error text or "".
std::string apply_mail_param(std::string_view param, SubmitCommand& cmd)
{
    auto eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    bool has_value = eq != std::string_view::npos;
    if (iequals(key, "SIZE")) {
        auto size = parse_size(value);
        if (!size || cmd.size) return "Bad SIZE parameter";
        cmd.size = size;
    } else if (iequals(key, "BODY")) {
        if (cmd.body != BodyType::unspecified) return "Bad BODY parameter";
        if (iequals(value, "7BIT"))
            cmd.body = BodyType::seven_bit;
        else if (iequals(value, "8BITMIME"))
            cmd.body = BodyType::eight_bit_mime;
        else
            return "Bad BODY parameter";
    } else if (iequals(key, "SMTPUTF8")) {
        if (has_value || cmd.smtputf8) return "Bad SMTPUTF8 parameter";
        cmd.smtputf8 = true;
    } else if (iequals(key, "RET")) {
        auto ret = parse_dsn_ret(value);
        if (!ret || cmd.dsn.ret != DsnRet::unspecified) return "Bad RET parameter (RET=FULL or RET=HDRS)";
        cmd.dsn.ret = *ret;
    } else if (iequals(key, "ENVID")) {
        auto envid = parse_envid_param(value);
        if (!envid || !cmd.dsn.envid.empty())
            return "Bad ENVID parameter (xtext of at most 100 printable ASCII characters)";
        cmd.dsn.envid = std::move(*envid);
    } else {
        return "Unsupported parameter " + std::string(key.substr(0, 64));
    }
    return {};
}

// One "KEY=VALUE" of RCPT TO; returns an error text or "".
std::string apply_rcpt_param(std::string_view param, SubmitCommand& cmd)
{
    auto eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
    if (iequals(key, "NOTIFY")) {
        auto notify = parse_dsn_notify(value);
        if (!notify || cmd.rcpt_dsn.notify.given)
            return "Bad NOTIFY parameter (NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY)";
        cmd.rcpt_dsn.notify = *notify;
    } else if (iequals(key, "ORCPT")) {
        auto orcpt = parse_orcpt_param(value);
        if (!orcpt || !cmd.rcpt_dsn.orcpt.empty())
            return "Bad ORCPT parameter (ORCPT=addr-type;xtext, printable ASCII)";
        cmd.rcpt_dsn.orcpt = std::move(*orcpt);
    } else {
        return "Unsupported parameter " + std::string(key.substr(0, 64));
    }
    return {};
}

// The parameters after the path, each through apply (MAIL's or RCPT's).
template <class Apply>
std::string apply_params(std::string_view rest, SubmitCommand& cmd, Apply apply)
{
    while (true) {
        rest = trim(rest);
        if (rest.empty()) return {};
        auto space = rest.find_first_of(" \t");
        std::string error = apply(rest.substr(0, space), cmd);
        if (!error.empty()) return error;
        if (space == std::string_view::npos) return {};
        rest.remove_prefix(space);
    }
}

// MAIL FROM:<path> params / RCPT TO:<path>.
void parse_envelope(std::string_view args, SubmitCommand& cmd)
{
    bool mail = cmd.verb == SubmitVerb::mail;
    std::string_view keyword = mail ? "FROM:" : "TO:";
    std::string_view syntax = mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>";
    std::string_view rest;
    if (!istarts_with(args, keyword) || !split_path(args.substr(keyword.size()), cmd.argument, rest)) {
        cmd.error = syntax;
        return;
    }
    if (mail) {
        cmd.error = apply_params(rest, cmd, apply_mail_param);
    } else if (cmd.argument.empty()) {
        cmd.error = "Syntax: RCPT TO:<address>, the null address is not a recipient";
    } else {
        cmd.error = apply_params(rest, cmd, apply_rcpt_param);
    }
}

}  // namespace

SubmitCommand parse_submit_command(std::string_view line)
{
    line = trim(line);
    auto space = line.find_first_of(" \t");
    std::string_view word = line.substr(0, space);
    std::string_view args = space == std::string_view::npos ? std::string_view{} : trim(line.substr(space));

    SubmitCommand cmd;
    cmd.verb = verb_from(word);
    switch (cmd.verb) {
        case SubmitVerb::ehlo:
        case SubmitVerb::helo:
        case SubmitVerb::lhlo:
            if (args.empty()) cmd.error = "Syntax: " + std::string(to_string(cmd.verb)) + " hostname";
            cmd.argument = args;
            break;
        case SubmitVerb::mail:
        case SubmitVerb::rcpt: parse_envelope(args, cmd); break;
        case SubmitVerb::data:
        case SubmitVerb::rset:
        case SubmitVerb::quit:
            if (!args.empty()) cmd.error = "Syntax: " + std::string(to_string(cmd.verb));
            break;
        case SubmitVerb::vrfy:
            if (args.empty()) cmd.error = "Syntax: VRFY address";
            cmd.argument = args;
            break;
        case SubmitVerb::noop:
        case SubmitVerb::help: cmd.argument = args; break;
        case SubmitVerb::unknown: cmd.argument = word.substr(0, 64); break;
    }
    return cmd;
}

std::string_view to_string(SubmitVerb verb)
{
    switch (verb) {
        case SubmitVerb::ehlo: return "EHLO";
        case SubmitVerb::helo: return "HELO";
        case SubmitVerb::lhlo: return "LHLO";
        case SubmitVerb::mail: return "MAIL";
        case SubmitVerb::rcpt: return "RCPT";
        case SubmitVerb::data: return "DATA";
        case SubmitVerb::rset: return "RSET";
        case SubmitVerb::noop: return "NOOP";
        case SubmitVerb::quit: return "QUIT";
        case SubmitVerb::vrfy: return "VRFY";
        case SubmitVerb::help: return "HELP";
        case SubmitVerb::unknown: break;
    }
    return "unknown";
}

}  // namespace mailqd
