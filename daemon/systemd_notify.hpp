// systemd Type=notify support through libsystemd: READY=1 once sockets
// listen and the queue is open, RELOADING=1 then READY=1 around a SIGHUP
// reload, STOPPING=1 on shutdown, WATCHDOG=1 every WATCHDOG_USEC/2 when the
// unit sets a watchdog. Without NOTIFY_SOCKET every call is a no-op, so the
// daemon runs the same outside systemd.
#pragma once

#include <chrono>
#include <string>

#include "daemon/net/asio.hpp"

namespace mailqd {

class SystemdNotifier {
public:
    explicit SystemdNotifier(asio::any_io_executor executor) : watchdog_(executor) {}

    void ready(const std::string& status);
    // A reload begins; ready() again when it is done (or refused), so that
    // systemctl status shows it and the state of the last one.
    void reloading();
    void stopping();
    void status(const std::string& text);
    // Starts the WATCHDOG=1 timer if systemd asked for one.
    void start_watchdog();
    void stop_watchdog();

private:
    void arm();
    asio::steady_timer watchdog_;
    std::chrono::microseconds interval_{0};
};

}  // namespace mailqd
