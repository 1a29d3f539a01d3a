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
Json to_json(const QueueCounts& counts);

Json ok_response(Json result);
Json error_response(const Error& error);

// Parses a response line; an {"ok":false} response becomes its Error.
Result<Json> parse_response(const std::string& line);

}  // namespace mailqd
