// See intake.hpp.
#include "daemon/intake.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "daemon/logging.hpp"
#include "daemon/store_async.hpp"
#include "spool/message.hpp"

namespace mailqd {

Result<std::string> Intake::store_in(Store& store, NewMessage& message, const std::string& hostname)
{
    const TimePoint now = now_seconds();
    auto prepared =
        prepare_for_queue(std::move(message.data), PrepareOptions{hostname, now, message.remove_bcc});
    if (!prepared) return prepared.error();
    message.data = std::move(*prepared);
    return store.accept(message, now);
}

void Intake::committed(const std::string& id, const NewMessage& message, std::size_t size)
{
    ++accepted_;
    ++telemetry_.accepted_by_door[message.door];
    spdlog::info("{}: from={} size={} nrcpt={} submitter={} door={}", id, log_address(message.sender), size,
                 message.recipients.size(), message.submitter, message.door);
    events_.changed();
}

awaitable<Result<std::string>> Intake::accept(NewMessage message)
{
    ++in_flight_;
    const auto started = std::chrono::steady_clock::now();
    const std::size_t size = message.data.size();
    auto shared = std::make_shared<NewMessage>(std::move(message));
    // Prepared on the writer's thread, not the io thread: a 35 MB message's
    // normalisation must not stall every other session.
    auto job = [shared, hostname = hostname_](Store& store) { return store_in(store, *shared, hostname); };
    auto op = write_store(writer_, std::move(job));  // named: see store_async.hpp
    Result<std::string> id = co_await std::move(op);
    --in_flight_;
    if (!id) {
        spdlog::error("accept from={} door={} submitter={}: {}", log_address(shared->sender), shared->door,
                      shared->submitter, id.error().message);
        co_return id;
    }
    telemetry_.submission_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    committed(*id, *shared, size);
    co_return id;
}

}  // namespace mailqd
