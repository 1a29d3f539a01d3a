// What the submit server gives each of its sessions: the door's options and
// the function that commits a message. Below both submit_server.hpp and
// submit_session.hpp, so neither includes the other.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/net/asio.hpp"
#include "spool/queue_types.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct SubmitOptions {
    std::string hostname;  // greeting
    std::uint64_t max_message_size = 35ull << 20;
    unsigned max_clients = 256;
    std::chrono::seconds timeout{300};    // idle or stalled client
    std::vector<std::string> users{"*"};  // submit.users: *, names, @groups
    unsigned user_rate = 0;               // messages per minute per user; 0: unlimited
    // Not config keys (they bound abuse, not traffic); tests make them small.
    std::chrono::seconds session_limit{3600};  // a whole conversation, however busy
    std::size_t data_budget = 0;               // DATA bytes all sessions may hold; 0: for max_message_size
};

// Why the door turned a client or a message away, counted for `mailqctl
// stats` (a few fixed reasons: a label set that stays small).
enum class Refused { user, rate, clients, unidentified, too_big, header_line, no_memory };
inline constexpr std::array<std::string_view, 7> refused_names = {
    "user", "rate", "clients", "unidentified", "too_big", "header_line", "no_memory"};

struct RefusalCounts {
    std::array<std::uint64_t, refused_names.size()> counts{};
    void add(Refused why) { ++counts[static_cast<std::size_t>(why)]; }
    std::uint64_t operator[](Refused why) const { return counts[static_cast<std::size_t>(why)]; }
};

// Commits a message durably and returns its queue ID. Error kinds:
// temporary -> 451/452 (try again), bad_message -> 554 5.6.0, anything
// else -> 554 5.3.0.
using AcceptFn = std::function<awaitable<Result<std::string>>(NewMessage)>;

}  // namespace mailqd
