// One way in (STYLE.md): every intake door -- the submit server, the spool
// watcher, bounces -- hands its message as received to Intake::accept, which
// prepares it for the queue (once, for every door: prepare_for_queue), commits
// it through the StoreWriter (group commit), logs the Postfix-style accept
// line and wakes the scheduler. Nothing else writes a new message: a bounce,
// which must commit together with the failure it reports, is stored by
// store_in() inside the recorder's own writer job.
#pragma once

#include <cstddef>
#include <string>

#include "daemon/net/asio.hpp"
#include "daemon/queue_events.hpp"
#include "daemon/telemetry.hpp"
#include "spool/queue_types.hpp"
#include "spool/result.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

class Intake {
public:
    // hostname: the right side of the Message-IDs it adds.
    Intake(StoreWriter& writer, QueueEvents& events, std::string hostname)
        : writer_(writer), events_(events), hostname_(std::move(hostname))
    {
    }

    // Returns the queue ID once the message is durable. A spool file that
    // was committed before returns the ID it got then. A message whose
    // header cannot be parsed is refused with bad_message.
    awaitable<Result<std::string>> accept(NewMessage message);

    // Prepares and stores a message inside a writer job that is already
    // running (on the writer's thread), in that job's transaction. Once it
    // is committed, the caller reports it with committed() on the io thread.
    // Static, with the hostname copied into the job: the writer drains its
    // jobs after the Intake is gone.
    static Result<std::string> store_in(Store& store, NewMessage& message, const std::string& hostname);
    const std::string& hostname() const { return hostname_; }
    // The accept line, the count, the scheduler woken. size: as received.
    void committed(const std::string& id, const NewMessage& message, std::size_t size);

    // Commits not yet answered: shutdown waits for these.
    std::size_t in_flight() const { return in_flight_; }
    std::uint64_t accepted() const { return accepted_; }
    // The daemon's in-memory counters: accepted per door and submission
    // time here, delivery figures by the DeliveryRecorder (which reaches
    // them through its Intake).
    Telemetry& telemetry() { return telemetry_; }
    const Telemetry& telemetry() const { return telemetry_; }

private:
    StoreWriter& writer_;
    QueueEvents& events_;
    std::string hostname_;
    std::size_t in_flight_ = 0;
    std::uint64_t accepted_ = 0;
    Telemetry telemetry_;
};

}  // namespace mailqd
