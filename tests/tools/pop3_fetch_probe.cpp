// Test-only driver for POP3 fetch (not installed): runs pull_mailbox (the
// same code the daemon's fetch scheduler calls) with a real Maildir writer
// and the real Store for the UIDL book, and prints the outcomes as JSON, so
// integration tests and bench/fetch exercise the protocol and storage code
// without the daemon.
//
//   pop3_fetch_probe --host H --port P --maildir DIR --db FILE
//     [--name NAME] [--tls none|starttls|implicit] [--verify yes|no] [--ca-file F]
//     [--user U] [--password P] [--auth auto|user|plain|apop] [--keep yes|no]
//     [--max-size N] [--timeout S] [--pull-limit S] [--batch N] [--pulls N] [--trace]
//
// Output: {"pulls":[{"fetched","deleted","quit_ok","server_messages",
//   "present","too_big":[{"uidl","size"}],"files":[...],"error"}],
//   "stats":{"name","last_fetch_at","fetched","last_error"},
//   "seconds":..., "peak_rss_kb":...}
#include <sys/resource.h>
#include <chrono>
#include <iostream>
#include <map>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "daemon/pop3/pop3_mailbox.hpp"
#include "spool/store.hpp"

namespace mailqd {
namespace {

using nlohmann::json;

[[noreturn]] void usage(const std::string& why)
{
    std::cerr << "pop3_fetch_probe: " << why << "\n";
    std::exit(64);
}

struct ProbeArgs {
    Pop3Options options;
    std::string ca_file;
    std::filesystem::path maildir;
    std::filesystem::path db;
    int pulls = 1;
};

ProbeArgs parse_args(int argc, char** argv)
{
    std::map<std::string, std::string> kv;
    bool trace = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--trace") {
            trace = true;
            continue;
        }
        if (!a.starts_with("--") || i + 1 >= argc) usage("bad argument " + a);
        kv[a.substr(2)] = argv[++i];
    }
    auto get = [&](const std::string& k, const std::string& d = "") { return kv.count(k) ? kv[k] : d; };
    ProbeArgs p;
    Pop3Options& o = p.options;
    o.name = get("name", "probe");
    o.host = get("host", "127.0.0.1");
    o.port = static_cast<std::uint16_t>(std::stoi(get("port", "110")));
    const std::map<std::string, TlsMode> tls{
        {"none", TlsMode::none}, {"starttls", TlsMode::starttls}, {"implicit", TlsMode::implicit}};
    const std::map<std::string, MailboxAuth> auth{{"auto", MailboxAuth::automatic},
                                                  {"user", MailboxAuth::user},
                                                  {"plain", MailboxAuth::plain},
                                                  {"apop", MailboxAuth::apop}};
    if (!tls.count(get("tls", "none")) || !auth.count(get("auth", "auto"))) usage("bad --tls or --auth");
    o.tls = tls.at(get("tls", "none"));
    o.auth = auth.at(get("auth", "auto"));
    o.verify = get("verify", "yes") == "yes";
    o.username = get("user");
    o.secret = get("password");
    o.keep = get("keep", "no") == "yes";
    o.max_size = std::stoull(get("max-size", std::to_string(50ull << 20)));
    o.timeout = std::chrono::seconds(std::stoi(get("timeout", "10")));
    o.pull_limit = std::chrono::seconds(std::stoi(get("pull-limit", "3600")));
    o.batch_messages = std::stoul(get("batch", "200"));
    o.trace = trace;
    p.ca_file = get("ca-file");
    p.maildir = get("maildir");
    p.db = get("db");
    p.pulls = std::stoi(get("pulls", "1"));
    if (p.maildir.empty() || p.db.empty()) usage("--maildir and --db are required");
    return p;
}

awaitable<Status> ready(Status status) { co_return status; }

// One transaction (one fsync) per batch.
Status record_all(Store& store, const std::string& mailbox, const std::vector<std::string>& uidls)
{
    if (Status s = store.begin(); !s) return s;
    for (const auto& u : uidls) {
        if (Status s = store.record_uidl(mailbox, u, now_seconds()); !s) {
            store.rollback();
            return s;
        }
    }
    return store.commit();
}

// The UIDL book on the real store, synchronously (the daemon goes through
// its StoreWriter thread instead). Plain lambdas returning a finished
// awaitable: no capturing lambda coroutines (GCC 12).
MailboxBook store_book(Store& store, const std::string& mailbox)
{
    MailboxBook book;
    book.known = [&store, mailbox](const std::string& uidl) { return store.uidl_known(mailbox, uidl); };
    book.record = [&store, mailbox](std::vector<std::string> uidls) {
        return ready(record_all(store, mailbox, uidls));
    };
    book.forget_except = [&store, mailbox](std::vector<std::string> present) {
        return ready(store.forget_uidls_except(mailbox, present));
    };
    book.record_fetch = [&store, mailbox](std::uint64_t n, std::optional<std::string> error) {
        return ready(store.record_fetch(mailbox, now_seconds(), n, error));
    };
    return book;
}

json outcome_json(const MailboxPullOutcome& outcome)
{
    const Pop3Result& r = outcome.result;
    json too_big = json::array();
    for (const auto& b : r.too_big) too_big.push_back({{"uidl", b.uidl}, {"size", b.size}});
    return {{"fetched", r.fetched},
            {"deleted", r.deleted},
            {"quit_ok", r.quit_ok},
            {"server_messages", r.server_messages},
            {"present", r.present ? json(r.present->size()) : json(nullptr)},
            {"too_big", too_big},
            {"files", outcome.files},
            {"error", r.error ? json(r.error->message) : json(nullptr)}};
}

json stats_json(Store& store, const std::string& mailbox)
{
    auto totals = store.mailbox_totals();
    if (!totals) return {{"error", totals.error().message}};
    for (const auto& t : *totals)
        if (t.name == mailbox)
            return {{"name", t.name},
                    {"last_fetch_at", t.last_fetch_at ? json(format_time(*t.last_fetch_at)) : json(nullptr)},
                    {"fetched", t.fetched},
                    {"last_error", t.last_error ? json(*t.last_error) : json(nullptr)}};
    return nullptr;
}

awaitable<void> run_pulls(ProbeArgs args, Store& store, std::shared_ptr<ssl::context> tls,
                          std::optional<asio::any_io_executor> blocking, json* pulls)
{
    auto state = std::make_shared<MailboxPullState>();
    for (int i = 0; i < args.pulls; ++i) {
        MailboxBook book = store_book(store, args.options.name);
        awaitable<MailboxPullOutcome> op =
            pull_mailbox(args.options, args.maildir, std::move(book), tls, state, blocking);
        auto outcome = co_await std::move(op);
        pulls->push_back(outcome_json(outcome));
    }
}

int run(int argc, char** argv)
{
    ProbeArgs args = parse_args(argc, argv);
    spdlog::set_default_logger(spdlog::stderr_color_st("probe"));
    spdlog::set_level(args.options.trace ? spdlog::level::debug : spdlog::level::info);
    auto store = Store::open(args.db);
    if (!store) usage(store.error().message);
    std::shared_ptr<ssl::context> tls;
    if (args.options.tls != TlsMode::none) {
        auto made = make_client_tls_context({args.options.verify, args.ca_file});
        if (!made) usage(made.error().message);
        tls = *made;
    }
    asio::io_context io;
    asio::thread_pool blocking(1);
    json pulls = json::array();
    const auto started = std::chrono::steady_clock::now();
    // Arguments of the exact parameter types: GCC 12 may destroy a converted
    // temporary passed to a coroutine twice.
    std::optional<asio::any_io_executor> blocking_executor{blocking.get_executor()};
    asio::co_spawn(io, run_pulls(args, **store, tls, blocking_executor, &pulls), asio::detached);
    io.run();
    blocking.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    struct rusage usage_now {};
    ::getrusage(RUSAGE_SELF, &usage_now);
    json out = {{"pulls", pulls},
                {"stats", stats_json(**store, args.options.name)},
                {"seconds", seconds},
                {"peak_rss_kb", usage_now.ru_maxrss}};
    std::cout << out.dump() << "\n";
    return 0;
}

}  // namespace
}  // namespace mailqd

int main(int argc, char** argv) { return mailqd::run(argc, argv); }
