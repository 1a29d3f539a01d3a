// The delivery scheduler (Postfix's qmgr): one coroutine that sleeps until
// the next due attempt (Store::next_due_time) or until the queue changes
// (QueueEvents -> changed(): a far-future timer cancelled, no polling), then
// takes the due recipients from the reader Store, skips those already in
// flight, fails those past queue.lifetime ("expired: ..."), groups the rest
// per message and hands each message to the pool of the first relay whose
// senders globs match its envelope sender (Config::relay_for_sender).
// A recipient is "in flight" from the moment it is taken until its outcome
// is durable, so it is never handed out twice.
// Passes go on from where the last one stopped (a DueCursor), so a backlog
// in flight is not read again on every pass; a sweep that reaches the end
// ends with a pass from the start, which finds anything the cursor passed
// by (work handed back, or made due again behind it).
// Runs on the io thread; owns the relay pools, the outcome recorder and a
// one-thread pool for blocking work (password_command).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "daemon/delivery_recorder.hpp"
#include "daemon/intake.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/smtp/relay_pool.hpp"
#include "spool/config.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

class Scheduler : private PoolOwner {
public:
    Scheduler(asio::any_io_executor io, Store& reader, StoreWriter& writer, Intake& intake,
              const Config& config);
    ~Scheduler() override;

    void start();
    // Work may have become due (accepted, retried, released, settled).
    void changed();
    // A reloaded config: new relays get pools, changed ones new options,
    // removed ones are drained (their queued mail is routed again).
    void reconfigure(const Config& config);
    // Shutdown: nothing more is handed out; sessions are abandoned safely.
    void stop();
    // mailqctl retry: relays suspended after a failure are tried again now.
    void retry_requested();
    // Old work became due again (an admin's retry or release): the next
    // pass starts from the beginning of the due list.
    void rescan();

    // Recipients queued for or being sent to the relay (mailqctl stats).
    std::uint64_t in_flight(const std::string& relay) const;

private:
    awaitable<void> run();
    bool dispatch_due(TimePoint now);
    std::vector<std::string> expiry_replies(const Delivery& delivery);
    std::optional<OutgoingMessage> prepare(Delivery& delivery) override;
    void release(const Delivery& delivery) override;
    void settle(const std::vector<std::int64_t>& recipient_ids);
    void apply_config(const Config& config);
    RelaySettings relay_settings(const RelayConfig& relay) const;

    asio::any_io_executor io_;
    Store& reader_;
    Config config_;
    asio::thread_pool blocking_{1};
    DeliveryRecorder recorder_;
    asio::steady_timer wake_;
    std::unordered_set<std::int64_t> in_flight_;
    std::optional<DueCursor> cursor_;  // where the next pass starts; none: the beginning
    std::map<std::string, std::shared_ptr<RelayPool>> pools_;
    std::chrono::steady_clock::time_point last_pass_{};
    bool running_ = false;
    bool woken_ = false;
    bool stopped_ = false;
    bool warned_no_relays_ = false;
};

}  // namespace mailqd
