// One pull of one [mailbox.NAME]: the POP3 session (pop3_client.hpp) wired
// to a Maildir (spool/maildir_writer.hpp) and to the mailbox's UIDL book.
// This is the piece the fetch scheduler calls; it logs one line per message
// fetched and one per pull. It knows no SQL: the book is four callbacks the
// caller routes to the store (the daemon through its StoreWriter, the test
// probe directly).
// Order per batch, which is what makes delivery exactly-once:
// Maildir (tmp/, fsync each, new/, fsync new/) -> UIDLs recorded durably ->
// DELE. A crash before the UIDLs commit leaves files that a later pull may
// write again (at-least-once on disk), never a deleted message that is not
// on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "daemon/pop3/pop3_client.hpp"
#include "spool/backoff.hpp"
#include "spool/config.hpp"
#include "spool/result.hpp"

namespace mailqd {

// The mailbox's UIDL bookkeeping, as the store offers it.
struct MailboxBook {
    std::function<bool(const std::string& uidl)> known;
    // Records the UIDLs in one durable transaction.
    std::function<awaitable<Status>(std::vector<std::string> uidls)> record;
    // Forgets UIDLs no longer on the server.
    std::function<awaitable<Status>(std::vector<std::string> present)> forget_except;
    // For stats: when, how many, and the last error (null when ok).
    std::function<awaitable<Status>(std::uint64_t fetched, std::optional<std::string> error)> record_fetch;
};

// What the scheduler keeps per mailbox between pulls.
struct MailboxPullState {
    std::set<std::string> reported_too_big;  // reported once, while on the server
};

struct MailboxPullOutcome {
    Pop3Result result;
    std::vector<std::string> files;  // names written into new/ by this pull
};

// When to pull a mailbox next: its interval after a success; after n
// failures in a row the delivery backoff (backoff.hpp) for attempt n, but
// never sooner than the interval (backing off must not pull more often).
std::chrono::seconds next_pull_delay(std::chrono::seconds interval, int failures, const BackoffPolicy& policy,
                                     double random01);

// Runs fn (blocking file I/O, password_command) on pool when given, else
// inline; resumes on the caller's executor. fn by reference, to a named
// local the caller awaits on: GCC 12 destroys a std::function built from a
// lambda temporary twice when it is a coroutine's by-value parameter.
awaitable<Status> run_blocking(std::optional<asio::any_io_executor> pool, const std::function<Status()>& fn);

// The session options for a configured mailbox. secret comes from
// read_secret(); timeout and trace from the daemon's settings.
Pop3Options pop3_options_for(const MailboxConfig& mailbox, std::string secret, std::chrono::seconds timeout,
                             bool trace);

// Runs one pull. Maildir writes (and their fsyncs) run on `blocking` when it
// is given, so the I/O thread is not held; else inline. Never throws for an
// expected failure: it is in outcome.result.error and recorded in the book.
awaitable<MailboxPullOutcome> pull_mailbox(Pop3Options options, std::filesystem::path maildir,
                                           MailboxBook book, std::shared_ptr<ssl::context> tls,
                                           std::shared_ptr<MailboxPullState> state,
                                           std::optional<asio::any_io_executor> blocking = std::nullopt);

}  // namespace mailqd
