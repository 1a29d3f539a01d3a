// See pop3_fetcher.hpp.
#include "daemon/pop3/pop3_fetcher.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <random>

#include "daemon/net/spawn.hpp"
#include "daemon/net/tls_context.hpp"
#include "daemon/pop3/pop3_mailbox.hpp"
#include "daemon/secret_async.hpp"
#include "daemon/store_async.hpp"
#include "spool/backoff.hpp"

namespace mailqd {
namespace {

// POP3 has no timeout key of its own; the same per-step deadline as a relay's
// default.
constexpr std::chrono::seconds kPop3Timeout{60};

// Someone waiting in fetch_now for the next pull of one mailbox.
struct FetchWaiter {
    explicit FetchWaiter(asio::any_io_executor executor) : done(executor)
    {
        done.expires_at(asio::steady_timer::time_point::max());
    }
    asio::steady_timer done;  // cancelled when the pull is over
    bool finished = false;
    std::uint64_t fetched = 0;
    std::optional<std::string> error;
};

// The store calls a pull needs, as free coroutines over by-value arguments.
// GCC 12 destroys some temporaries of a co_await full-expression twice
// (store_async.hpp): jobs and awaitables are named locals first.
awaitable<Status> record_uidls(StoreWriter& writer, std::string mailbox, std::vector<std::string> uidls)
{
    auto job = [mailbox, uidls](Store& store) -> Status {
        const TimePoint now = now_seconds();
        for (const auto& uidl : uidls)
            if (Status s = store.record_uidl(mailbox, uidl, now); !s) return s;
        return {};
    };
    awaitable<Status> op = write_store(writer, std::move(job));
    co_return co_await std::move(op);
}

awaitable<Status> forget_uidls(StoreWriter& writer, std::string mailbox, std::vector<std::string> present)
{
    auto job = [mailbox, present](Store& store) { return store.forget_uidls_except(mailbox, present); };
    awaitable<Status> op = write_store(writer, std::move(job));
    co_return co_await std::move(op);
}

awaitable<Status> record_fetch(StoreWriter& writer, std::string mailbox, std::uint64_t fetched,
                               std::optional<std::string> error)
{
    auto job = [mailbox, fetched, error](Store& store) {
        return store.record_fetch(mailbox, now_seconds(), fetched, error);
    };
    awaitable<Status> op = write_store(writer, std::move(job));
    co_return co_await std::move(op);
}

MailboxBook store_book(Store& reader, StoreWriter& writer, const std::string& mailbox)
{
    MailboxBook book;
    book.known = [&reader, mailbox](const std::string& uidl) { return reader.uidl_known(mailbox, uidl); };
    book.record = [&writer, mailbox](std::vector<std::string> uidls) {
        return record_uidls(writer, mailbox, std::move(uidls));
    };
    book.forget_except = [&writer, mailbox](std::vector<std::string> present) {
        return forget_uidls(writer, mailbox, std::move(present));
    };
    book.record_fetch = [&writer, mailbox](std::uint64_t fetched, std::optional<std::string> error) {
        return record_fetch(writer, mailbox, fetched, std::move(error));
    };
    return book;
}

BackoffPolicy backoff_policy(const QueueConfig& queue)
{
    return {queue.retry_initial, queue.retry_max, queue.retry_factor, queue.retry_jitter};
}

}  // namespace

struct Pop3Fetcher::Mailbox {
    explicit Mailbox(asio::any_io_executor executor) : wake(executor) {}

    void configure(const MailboxConfig& next)
    {
        config = next;
        tls.reset();
        tls_error.reset();
        if (config.tls == TlsMode::none) return;
        auto made = make_client_tls_context({config.verify, config.ca_file.string()});
        if (made)
            tls = *made;
        else
            tls_error = made.error();
    }

    MailboxConfig config;
    std::shared_ptr<ssl::context> tls;
    std::optional<Error> tls_error;
    std::shared_ptr<MailboxPullState> state = std::make_shared<MailboxPullState>();
    asio::steady_timer wake;  // the interval or backoff; cancelled by fetch_now and stop
    int failures = 0;
    bool removed = false;
    std::vector<std::shared_ptr<FetchWaiter>> waiting;  // for the next pull
};

Pop3Fetcher::Pop3Fetcher(asio::any_io_executor io, Store& reader, StoreWriter& writer, const Config& config)
    : io_(std::move(io)), reader_(reader), writer_(writer), config_(config)
{
}

Pop3Fetcher::~Pop3Fetcher()
{
    stop();
    blocking_.join();
}

void Pop3Fetcher::start()
{
    started_ = true;
    reconfigure(config_);
}

void Pop3Fetcher::launch(std::shared_ptr<Mailbox> mailbox)
{
    spawn_logged(io_, run(mailbox), "fetch " + mailbox->config.name);
}

void Pop3Fetcher::reconfigure(const Config& config)
{
    config_ = config;
    if (!started_ || stopped_) return;
    for (auto& [name, mailbox] : mailboxes_) {
        if (config.mailbox(name) == nullptr) {
            mailbox->removed = true;
            mailbox->wake.cancel();
        }
    }
    std::erase_if(mailboxes_, [](const auto& entry) { return entry.second->removed; });
    for (const auto& box : config.mailboxes) {
        auto& slot = mailboxes_[box.name];
        if (slot) {
            slot->configure(box);
            continue;
        }
        slot = std::make_shared<Mailbox>(io_);
        slot->configure(box);
        launch(slot);
    }
}

void Pop3Fetcher::stop()
{
    stopped_ = true;
    for (auto& [name, mailbox] : mailboxes_) mailbox->wake.cancel();
}

// At start-up, then every interval (or backoff after failures), and at once
// when fetch_now has someone waiting.
awaitable<void> Pop3Fetcher::run(std::shared_ptr<Mailbox> mailbox)
{
    while (!stopped_ && !mailbox->removed) {
        co_await pull(mailbox);
        if (stopped_ || mailbox->removed || !mailbox->waiting.empty()) continue;
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        mailbox->wake.expires_after(next_pull_delay(mailbox->config.interval, mailbox->failures,
                                                    backoff_policy(config_.queue), uniform(random_)));
        error_code ec;
        co_await mailbox->wake.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    for (auto& waiter : mailbox->waiting) {
        waiter->finished = true;
        waiter->error = stopped_ ? "mailqd is stopping" : "mailbox removed from the configuration";
        waiter->done.cancel();
    }
    mailbox->waiting.clear();
}

awaitable<void> Pop3Fetcher::pull(std::shared_ptr<Mailbox> mailbox)
{
    auto waiters = std::move(mailbox->waiting);
    mailbox->waiting.clear();
    const MailboxConfig config = mailbox->config;
    std::string secret;
    Status ready = Status{};
    if (mailbox->tls_error)
        ready = mailbox->tls_error->context("TLS");
    else if (!config.password.empty()) {
        auto op = read_secret_async(blocking_executor_, config.password);  // named: see store_async.hpp
        Result<std::string> read = co_await std::move(op);
        if (read)
            secret = std::move(*read);
        else
            ready = read.error();
    }
    MailboxPullOutcome outcome;
    if (!ready) {
        outcome.result.error = ready.error().context("password");
        spdlog::warn("mailbox={} status=error error=\"{}\"", config.name, outcome.result.error->message);
        std::optional<std::string> error = outcome.result.error->message;
        awaitable<Status> op = record_fetch(writer_, config.name, 0, std::move(error));
        Status recorded = co_await std::move(op);
        if (!recorded)
            spdlog::error("mailbox={} cannot record the pull: {}", config.name, recorded.error().message);
    } else {
        Pop3Options options =
            pop3_options_for(config, std::move(secret), kPop3Timeout, config_.log.protocol_trace);
        MailboxBook book = store_book(reader_, writer_, config.name);
        awaitable<MailboxPullOutcome> op = pull_mailbox(std::move(options), config.maildir, std::move(book),
                                                        mailbox->tls, mailbox->state, blocking_executor_);
        outcome = co_await std::move(op);
    }
    mailbox->failures = outcome.result.error ? mailbox->failures + 1 : 0;
    for (auto& waiter : waiters) {
        waiter->finished = true;
        waiter->fetched = outcome.result.fetched;
        if (outcome.result.error) waiter->error = outcome.result.error->message;
        waiter->done.cancel();
    }
}

awaitable<Result<Json>> Pop3Fetcher::fetch_now(std::vector<std::string> names)
{
    if (names.empty())
        for (const auto& [name, mailbox] : mailboxes_) names.push_back(name);
    std::vector<std::pair<std::string, std::shared_ptr<FetchWaiter>>> waits;
    for (const auto& name : names) {
        auto it = mailboxes_.find(name);
        if (it == mailboxes_.end()) co_return make_error(ErrorKind::not_found, "unknown mailbox " + name);
    }
    if (stopped_) co_return make_error(ErrorKind::unavailable, "mailqd is stopping");
    for (const auto& name : names) {
        auto& mailbox = mailboxes_.at(name);
        auto waiter = std::make_shared<FetchWaiter>(io_);
        mailbox->waiting.push_back(waiter);
        mailbox->wake.cancel();
        waits.emplace_back(name, waiter);
    }
    Json out = Json::array();
    for (auto& [name, waiter] : waits) {
        if (!waiter->finished) {
            error_code ec;
            co_await waiter->done.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        out.push_back({{"name", name},
                       {"new", waiter->fetched},
                       {"error", waiter->error ? Json(*waiter->error) : Json(nullptr)}});
    }
    co_return Json{{"mailboxes", out}};
}

}  // namespace mailqd
