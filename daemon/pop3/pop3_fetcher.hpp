// The POP3 fetch scheduler: one coroutine per [mailbox.NAME] that pulls it
// at start-up, then every `interval`, and at once on `mailqctl fetch`
// (fetch_now waits for the pull and reports how many messages arrived).
// Mailboxes run independently; one that fails backs off with the delivery
// backoff arithmetic (queue.retry_*), never sooner than its interval, and
// its error is recorded for `mailqctl stats` without holding up the others.
// UIDLs are read from the reader Store and written through the StoreWriter
// (group commit, off the io thread); Maildir writes and password_command run
// on a blocking thread. Runs on the io thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "spool/config.hpp"
#include "spool/control_protocol.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

class Pop3Fetcher {
public:
    Pop3Fetcher(asio::any_io_executor io, Store& reader, StoreWriter& writer, const Config& config);
    ~Pop3Fetcher();
    Pop3Fetcher(const Pop3Fetcher&) = delete;
    Pop3Fetcher& operator=(const Pop3Fetcher&) = delete;

    void start();
    // A reloaded config: new mailboxes start, changed ones take the new
    // settings from their next pull, removed ones stop after the pull in
    // progress.
    void reconfigure(const Config& config);
    // Shutdown: no new pulls; a pull in progress is abandoned safely (DELE
    // only takes effect at QUIT, which it will not reach).
    void stop();

    // Pulls the named mailboxes (all when empty) now and waits for them:
    // {"mailboxes":[{"name":..,"new":N,"error":null|"..."}]}. Unknown names
    // are an ErrorKind::not_found error.
    awaitable<Result<Json>> fetch_now(std::vector<std::string> names);

private:
    struct Mailbox;
    void launch(std::shared_ptr<Mailbox> mailbox);
    awaitable<void> run(std::shared_ptr<Mailbox> mailbox);
    awaitable<void> pull(std::shared_ptr<Mailbox> mailbox);

    asio::any_io_executor io_;
    Store& reader_;
    StoreWriter& writer_;
    Config config_;
    asio::thread_pool blocking_{1};
    // Typed as the coroutines take it, so no converted temporary is passed.
    std::optional<asio::any_io_executor> blocking_executor_{blocking_.get_executor()};
    std::map<std::string, std::shared_ptr<Mailbox>> mailboxes_;
    std::mt19937_64 random_{std::random_device{}()};  // backoff jitter
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace mailqd
