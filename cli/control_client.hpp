// mailqctl's side of the control socket (spool/control_protocol.hpp): one
// JSON request line out, one JSON response line back, blocking.
// Trusts the daemon's JSON only as far as parse_response() checked it; any
// text from it is sanitised before it is printed.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "spool/control_protocol.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct ControlReply {
    std::string line;  // the response as the daemon sent it
    Json result;       // its "result"
};

// Largest response line accepted (a big queue listed as JSON).
constexpr std::size_t max_control_response = 256u << 20;

// Connects, sends the request, reads the response. Errors: connect failures
// (unavailable 69 / permission 77, "cannot reach mailqd at PATH: ..."), the
// daemon's own {"ok":false} errors with their kind, a malformed answer.
Result<ControlReply> control_request(const std::filesystem::path& socket, const Json& request,
                                     std::chrono::seconds timeout = std::chrono::seconds(120));

// The "result" of a response line, serialised with the daemon's key order and
// values untouched: what --json prints.
std::string raw_result(const std::string& line);

}  // namespace mailqd
