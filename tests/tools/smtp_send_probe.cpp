// Test-only driver for the SMTP client (not installed): sends message files
// through run_smtp_session to a server and prints the outcomes as JSON, so
// integration tests can exercise the protocol code without the daemon.
//
//   smtp_send_probe --host H --port P [--tls none|starttls|implicit]
//     [--verify yes|no] [--ca-file F] [--helo NAME] [--auth auto|none|plain|login|xoauth2]
//     [--user U] [--secret S | --secret-file F] [--timeout-ms N] [--session-limit-ms N]
//     [--per-connection N] [--abort-after-ms N] [--trace] --from A --to A [--to A]... FILE...
//
// Sessions run one after another until every file was tried or a session
// ends in an error. Output: {"sessions":[{"peer","error","messages":[...]}]}.
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "daemon/smtp/smtp_client.hpp"

namespace mailqd {
namespace {

using nlohmann::json;

struct ProbeArgs {
    SmtpClientOptions options;
    std::string sender;
    std::vector<std::string> recipients;
    std::vector<std::string> files;
    long abort_after_ms = 0;  // SmtpSessionControl::abort() after this long
};

std::optional<std::string> read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

[[noreturn]] void usage(const std::string& why)
{
    std::cerr << "smtp_send_probe: " << why << "\n";
    std::exit(64);
}

TlsMode parse_tls(const std::string& v)
{
    if (v == "none") return TlsMode::none;
    if (v == "starttls") return TlsMode::starttls;
    if (v == "implicit") return TlsMode::implicit;
    usage("bad --tls " + v);
}

RelayAuth parse_auth(const std::string& v)
{
    if (v == "auto") return RelayAuth::automatic;
    if (v == "none") return RelayAuth::none;
    if (v == "plain") return RelayAuth::plain;
    if (v == "login") return RelayAuth::login;
    if (v == "xoauth2") return RelayAuth::xoauth2;
    usage("bad --auth " + v);
}

ProbeArgs parse_args(int argc, char** argv)
{
    ProbeArgs a;
    a.options.relay_name = "probe";
    a.options.timeout = std::chrono::seconds(10);
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value for " + arg);
            return argv[++i];
        };
        SmtpClientOptions& o = a.options;
        if (arg == "--host")
            o.host = value();
        else if (arg == "--port")
            o.port = static_cast<std::uint16_t>(std::stoi(value()));
        else if (arg == "--tls")
            o.tls = parse_tls(value());
        else if (arg == "--verify")
            o.verify = value() == "yes";
        else if (arg == "--ca-file")
            o.ca_file = value();
        else if (arg == "--helo")
            o.helo_name = value();
        else if (arg == "--auth")
            o.auth = parse_auth(value());
        else if (arg == "--user")
            o.username = value();
        else if (arg == "--secret")
            o.secret = value();
        else if (arg == "--secret-file") {
            auto text = read_file(value());
            if (!text) usage("cannot read the secret file");
            o.secret = text->substr(0, text->find('\n'));
        } else if (arg == "--timeout-ms")
            o.timeout = std::chrono::milliseconds(std::stol(value()));
        else if (arg == "--session-limit-ms")
            o.session_limit = std::chrono::milliseconds(std::stol(value()));
        else if (arg == "--per-connection")
            o.max_messages = static_cast<unsigned>(std::stoul(value()));
        else if (arg == "--trace")
            o.protocol_trace = true;
        else if (arg == "--abort-after-ms")
            a.abort_after_ms = std::stol(value());
        else if (arg == "--from")
            a.sender = value();
        else if (arg == "--to")
            a.recipients.push_back(value());
        else if (arg.rfind("--", 0) == 0)
            usage("unknown option " + arg);
        else
            a.files.push_back(arg);
    }
    if (a.options.host.empty() || a.recipients.empty() || a.files.empty())
        usage("need --host, --to and at least one message file");
    return a;
}

json outcome_json(const SmtpOutcome& o)
{
    json j{{"state", std::string(to_string(classify(o)))},
           {"stage", std::string(to_string(o.stage))},
           {"failure", std::string(to_string(o.failure))},
           {"reply", describe(o)},
           {"detail", o.detail}};
    if (o.reply) {
        j["code"] = o.reply->code;
        j["enhanced"] = o.reply->enhanced;
    }
    return j;
}

json session_json(const SessionResult& result)
{
    json messages = json::array();
    for (const auto& m : result.messages) {
        json recipients = json::array();
        for (const auto& r : m.recipients) {
            json j = outcome_json(r.outcome);
            j["id"] = r.id;
            j["address"] = r.address;
            recipients.push_back(j);
        }
        messages.push_back({{"id", m.id}, {"recipients", recipients}});
    }
    return {{"peer", result.peer},
            {"error", result.error ? outcome_json(*result.error) : json(nullptr)},
            {"relay_failed", result.relay_failed()},
            {"messages", messages}};
}

std::deque<OutgoingMessage> load_messages(const ProbeArgs& args)
{
    std::deque<OutgoingMessage> pending;
    for (std::size_t i = 0; i < args.files.size(); ++i) {
        auto data = read_file(args.files[i]);
        if (!data) usage("cannot read " + args.files[i]);
        OutgoingMessage m{std::to_string(i + 1), args.sender, {}, std::move(*data), {}};
        for (std::size_t r = 0; r < args.recipients.size(); ++r)
            m.recipients.push_back({static_cast<std::int64_t>(r + 1), args.recipients[r], {}});
        pending.push_back(std::move(m));
    }
    return pending;
}

awaitable<std::optional<OutgoingMessage>> next_message(std::deque<OutgoingMessage>* pending)
{
    if (pending->empty()) co_return std::nullopt;
    OutgoingMessage m = std::move(pending->front());
    pending->pop_front();
    co_return m;
}

awaitable<void> run_sessions(ProbeArgs args, json* out)
{
    std::deque<OutgoingMessage> pending = load_messages(args);
    json sessions = json::array();
    auto control = std::make_shared<SmtpSessionControl>();
    asio::steady_timer abort_timer(co_await asio::this_coro::executor);
    if (args.abort_after_ms > 0) {
        abort_timer.expires_after(std::chrono::milliseconds(args.abort_after_ms));
        abort_timer.async_wait([control](error_code ec) {
            if (!ec) control->abort();
        });
    }
    while (!pending.empty() && !control->aborted()) {
        // Named first: GCC 12 can destroy std::function/shared_ptr temporaries
        // of a co_await expression twice.
        MessageSource source = [&pending](Pull) { return next_message(&pending); };
        auto op = run_smtp_session(args.options, std::move(source), {}, control);
        SessionResult result = co_await std::move(op);
        sessions.push_back(session_json(result));
        if (result.error || result.messages.empty()) break;
    }
    abort_timer.cancel();
    (*out)["sessions"] = sessions;
}

}  // namespace
}  // namespace mailqd

int main(int argc, char** argv)
{
    using namespace mailqd;
    ProbeArgs args = parse_args(argc, argv);
    auto logger = spdlog::stderr_color_mt("probe");
    spdlog::set_default_logger(logger);
    spdlog::set_level(args.options.protocol_trace ? spdlog::level::debug : spdlog::level::info);

    asio::io_context io;
    nlohmann::json out;
    asio::co_spawn(io, run_sessions(std::move(args), &out), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    io.run();
    std::cout << out.dump() << "\n";
    return 0;
}
