// Control socket client (see control_client.hpp).
#include "cli/control_client.hpp"

#include "cli/unix_socket.hpp"

namespace mailqd {

Result<ControlReply> control_request(const std::filesystem::path& socket, const Json& request,
                                     std::chrono::seconds timeout)
{
    auto connection = UnixSocket::connect(socket);
    if (!connection) return connection.error();
    std::string line = request.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    if (auto sent = connection->write_all(line); !sent) return sent.error().context("mailqd control socket");
    auto answer = connection->read_line(max_control_response, timeout);
    if (!answer) return answer.error().context("mailqd control socket");
    auto response = parse_response(*answer);
    if (!response) return response.error();
    return ControlReply{std::move(*answer), std::move(*response)};
}

std::string raw_result(const std::string& line)
{
    // ordered_json keeps the daemon's key order, so the output is what it
    // sent, not re-sorted; invalid UTF-8 in a reply text is replaced rather
    // than throwing.
    auto parsed = nlohmann::ordered_json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("result")) return "null";
    return parsed["result"].dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace mailqd
