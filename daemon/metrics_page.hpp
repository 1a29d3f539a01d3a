// The /metrics page: what the daemon knows, in the Prometheus text format
// (daemon/http/metrics_text.hpp), names prefixed mailqd_, base units.
// Labels only of bounded sets: relay and mailbox (names from the config),
// door, state, reason; never a queue ID or an address. The snapshot is
// gathered by the daemon from the store's counters (no scan of the queue)
// and the parts' own counts; rendering it is pure, for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/telemetry.hpp"
#include "spool/queue_types.hpp"

namespace mailqd {

struct MetricsSnapshot {
    QueueCounts queue;
    std::vector<RelayTotals> relay_totals;  // since the database was made
    std::vector<std::string> relays;        // configured, so each has its series from the start
    std::vector<std::pair<std::string, std::uint64_t>> in_flight;  // recipients, per relay
    std::vector<MailboxTotals> mailboxes;
    std::vector<std::pair<std::string, std::uint64_t>> refusals;  // submit refusals per reason
    StoreFaults faults;
    const Telemetry* telemetry = nullptr;
};

std::string render_metrics(const MetricsSnapshot& snapshot);

// /healthz: nullopt while the queue takes writes, else why not.
std::optional<std::string> health_problem(const StoreFaults& faults);

}  // namespace mailqd
