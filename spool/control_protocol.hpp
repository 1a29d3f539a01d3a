// The control socket's protocol, shared by the daemon and mailqctl.
// One JSON object per line each way over a Unix stream socket:
//   request  {"cmd":"list","state":"deferred"}
//            {"cmd":"show","id":"..."}
//            {"cmd":"retry"|"hold"|"release"|"delete","ids":[...]} or {"cmd":..., "all":true}
//            {"cmd":"stats"}   {"cmd":"fetch","mailboxes":[...]}
//   response {"ok":true,"result":...}
//            {"ok":false,"kind":67,"error":"unknown queue ID 7F3A2C"}
// "kind" is an ErrorKind (a sysexits code), so mailqctl exits with it.
// The JSON shapes of messages and stats are DESIGN.md section 5, exactly.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

namespace mailqd {

using Json = nlohmann::json;

// Requests larger than this are refused without being parsed.
constexpr std::size_t max_control_request = 1 << 20;

Json to_json(const MessageInfo& message, bool with_attempts);
// oldest_age_s is 0 when no message is waiting.
Json to_json(const QueueCounts& counts);
// stats' "relays" and "mailboxes" entries; in_flight is the daemon's to know.
Json to_json(const RelayTotals& relay, std::uint64_t in_flight);
Json to_json(const StoreFaults& faults);
Json to_json(const MailboxTotals& mailbox);

// The inverse of to_json(MessageInfo), for mailqctl's tables. Error (kind
// failure) when a field is missing or has the wrong type.
Result<MessageInfo> message_from_json(const Json& json);

// One protocol line: compact JSON and "\n". Invalid UTF-8 (a remote server's
// reply text) is replaced rather than thrown about.
std::string dump_line(const Json& json);

Json ok_response(Json result);
Json error_response(const Error& error);

// Parses a response line; an {"ok":false} response becomes its Error.
Result<Json> parse_response(const std::string& line);

}  // namespace mailqd
