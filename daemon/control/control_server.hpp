// The control socket (DESIGN.md section 5): a Unix stream socket where each
// request is one JSON line and each reply one JSON line. Transport only;
// the verbs live in ControlCommands.
// Access: the socket's mode, and on top of it the peer's credentials
// (SO_PEERCRED): members of the group, root and the daemon's own user are
// admins; any other user may only list and show their own mail
// (ControlCommands), so a chmod of the socket never opens the queue. A
// request larger than max_control_request is answered with an error and the
// connection closed, an idle client is dropped, and one user holds at most
// a quarter of the sessions, so no one can lock the admins out.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/control/control_commands.hpp"
#include "daemon/net/asio.hpp"
#include "spool/result.hpp"

namespace mailqd {

class ControlServer {
public:
    ControlServer(asio::any_io_executor executor, ControlCommands& commands);
    ~ControlServer();

    Status listen(const std::filesystem::path& path, mode_t mode, const std::string& group);
    void start();
    void stop();  // closes the listener and every session

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace mailqd
