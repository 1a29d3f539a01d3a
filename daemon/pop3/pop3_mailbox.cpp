#include "daemon/pop3/pop3_mailbox.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>

#include "spool/maildir_writer.hpp"

namespace mailqd {
namespace {

// A message's Maildir tag: FNV-1a of its UIDL and bytes, stable across
// runs, so the same message from the same UIDL gets the same tag.
std::string fetch_tag(const FetchedMessage& m)
{
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&](std::string_view bytes) {
        for (unsigned char c : bytes) {
            h ^= c;
            h *= 1099511628211ull;
        }
    };
    mix(m.uidl);
    mix(std::string_view("\0", 1));
    mix(m.data);
    static constexpr char hex[] = "0123456789abcdef";
    std::string tag(16, '0');
    for (int i = 15; i >= 0; --i, h >>= 4) tag[static_cast<std::size_t>(i)] = hex[h & 15];
    return tag;
}

// Writes a batch into the Maildir; names come back through *names. A crash
// between the write and the UIDL commit leaves the file in new/ with its
// tag: a message found there is not written a second time.
Status write_batch(MaildirWriter& writer, const std::vector<FetchedMessage>& batch,
                   std::vector<std::string>* names)
{
    const auto already = writer.tagged_in_new();
    std::vector<std::string_view> views;
    std::vector<std::string> tags, all_tags;
    for (const auto& m : batch) {
        all_tags.push_back(fetch_tag(m));
        if (auto found = already.find(all_tags.back()); found != already.end()) {
            spdlog::info("maildir {}: uidl={} already in new/{} (written before a crash), not written again",
                         writer.path().string(), m.uidl, found->second);
            continue;
        }
        views.push_back(m.data);
        tags.push_back(all_tags.back());
    }
    auto written = writer.deliver(views, tags);
    if (!written) return written.error();
    names->clear();
    std::size_t next = 0;
    for (const auto& tag : all_tags) {
        auto found = already.find(tag);
        names->push_back(found != already.end() ? found->second : (*written)[next++]);
    }
    return {};
}

// What store_batch needs, shared by value with each call.
struct BatchSink {
    std::string name;
    std::shared_ptr<MaildirWriter> writer;
    std::function<awaitable<Status>(std::vector<std::string>)> record;
    std::vector<std::string> files;  // written by this pull
    std::optional<asio::any_io_executor> blocking;
};

// store_batch for the session: Maildir first, then the UIDLs, then (back in
// the session) DELE. A free coroutine with by-value parameters: GCC 12 is
// unreliable with capturing lambda coroutines.
awaitable<Status> store_batch(std::shared_ptr<BatchSink> sink, std::vector<FetchedMessage> batch)
{
    std::vector<std::string> names;
    const std::function<Status()> write = [&] { return write_batch(*sink->writer, batch, &names); };
    Status on_disk = co_await run_blocking(sink->blocking, write);
    if (!on_disk) co_return on_disk;
    std::vector<std::string> uidls;
    for (const auto& m : batch) uidls.push_back(m.uidl);
    awaitable<Status> op = sink->record(std::move(uidls));
    Status recorded = co_await std::move(op);
    if (!recorded)  // the files stay: at-least-once rather than a loss
        co_return recorded.error().context("recording UIDLs");
    for (std::size_t i = 0; i < batch.size(); ++i) {
        spdlog::info("mailbox={} uidl={} size={} file={} status=fetched", sink->name, batch[i].uidl,
                     batch[i].data.size(), names[i]);
        sink->files.push_back(names[i]);
    }
    co_return Status{};
}

// Too-big messages are logged once while they stay on the server.
void report_too_big(const Pop3Options& options, const Pop3Result& result, MailboxPullState& state)
{
    std::set<std::string> still;
    for (const auto& big : result.too_big) {
        still.insert(big.uidl);
        if (state.reported_too_big.insert(big.uidl).second)
            spdlog::warn(
                "mailbox={} uidl={} size={} max_size={} status=skipped reason=\"too big, left on the "
                "server\"",
                options.name, big.uidl, big.size, options.max_size);
    }
    if (result.present)  // forget the ones that left the server
        std::erase_if(state.reported_too_big, [&](const std::string& u) { return !still.contains(u); });
}

void log_pull(const Pop3Options& options, const Pop3Result& result, double seconds)
{
    const std::string error = result.error ? result.error->message : "";
    auto level = result.error ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(
        level,
        "mailbox={} server={}:{} fetched={} deleted={} on_server={} too_big={} duration={:.2f}s status={}{}",
        options.name, options.host, options.port, result.fetched, result.deleted, result.server_messages,
        result.too_big.size(), seconds, result.error ? "error" : "ok",
        result.error ? " error=\"" + error + "\"" : "");
}

}  // namespace

// co_spawn resumes the caller on its own executor when fn is done.
awaitable<Status> run_blocking(std::optional<asio::any_io_executor> pool, const std::function<Status()>& fn)
{
    if (!pool) co_return fn();
    co_return co_await asio::co_spawn(
        *pool, [&fn]() -> awaitable<Status> { co_return fn(); }, use_awaitable);
}

std::chrono::seconds next_pull_delay(std::chrono::seconds interval, int failures, const BackoffPolicy& policy,
                                     double random01)
{
    if (failures <= 0) return interval;
    return std::max(interval, backoff_delay(policy, failures, random01));
}

Pop3Options pop3_options_for(const MailboxConfig& mailbox, std::string secret, std::chrono::seconds timeout,
                             bool trace)
{
    Pop3Options o;
    o.name = mailbox.name;
    o.host = mailbox.host;
    o.port = mailbox.port;
    o.tls = mailbox.tls;
    o.verify = mailbox.verify;
    o.username = mailbox.username;
    o.secret = std::move(secret);
    o.auth = mailbox.auth;
    o.timeout = timeout;
    o.keep = mailbox.keep;
    o.max_size = mailbox.max_size;
    o.trace = trace;
    return o;
}

awaitable<MailboxPullOutcome> pull_mailbox(Pop3Options options, std::filesystem::path maildir,
                                           MailboxBook book, std::shared_ptr<ssl::context> tls,
                                           std::shared_ptr<MailboxPullState> state,
                                           std::optional<asio::any_io_executor> blocking)
{
    const auto started = std::chrono::steady_clock::now();
    MailboxPullOutcome outcome;
    auto opened = MaildirWriter::open(maildir);
    const bool refused = !opened;
    if (refused) {
        // A Maildir that is refused (a link, a part of another uid) or cannot
        // be opened: the server is not contacted, so nothing is fetched or
        // deleted. One line for the admin to act on, instead of the pull line.
        outcome.result.error = opened.error();
        spdlog::error("mailbox={} status=error error=\"{}\" (the server was not contacted)", options.name,
                      opened.error().message);
    } else {
        auto sink = std::make_shared<BatchSink>(BatchSink{
            options.name, std::make_shared<MaildirWriter>(std::move(*opened)), book.record, {}, blocking});
        Pop3Callbacks callbacks;
        callbacks.is_known = book.known;
        callbacks.store_batch = [sink](std::vector<FetchedMessage> batch) {
            return store_batch(sink, std::move(batch));
        };
        awaitable<Pop3Result> op = pop3_fetch(options, std::move(callbacks), std::move(tls));
        outcome.result = co_await std::move(op);
        outcome.files = std::move(sink->files);
    }
    Pop3Result& result = outcome.result;
    if (result.present) {
        awaitable<Status> op = book.forget_except(*result.present);
        Status forgotten = co_await std::move(op);
        if (!forgotten && !result.error) result.error = forgotten.error().context("forgetting UIDLs");
    }
    if (state) report_too_big(options, result, *state);
    std::optional<std::string> error;
    if (result.error) error = result.error->message;
    awaitable<Status> record = book.record_fetch(result.fetched, error);
    Status recorded = co_await std::move(record);
    if (!recorded)
        spdlog::error("mailbox={} cannot record the pull: {}", options.name, recorded.error().message);
    if (!refused)
        log_pull(options, result,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    co_return outcome;
}

}  // namespace mailqd
