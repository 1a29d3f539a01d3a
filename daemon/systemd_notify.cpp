// See systemd_notify.hpp.
#include "daemon/systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <cstdint>

namespace mailqd {
namespace {

void notify(const std::string& state)
{
    int rc = sd_notify(0, state.c_str());
    if (rc < 0) spdlog::warn("sd_notify {}: error {}", state, -rc);
}

}  // namespace

void SystemdNotifier::ready(const std::string& text) { notify("READY=1\nSTATUS=" + text); }

void SystemdNotifier::reloading() { notify("RELOADING=1\nSTATUS=reloading the config"); }

void SystemdNotifier::stopping() { notify("STOPPING=1"); }

void SystemdNotifier::status(const std::string& text) { notify("STATUS=" + text); }

void SystemdNotifier::start_watchdog()
{
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    interval_ = std::chrono::microseconds(usec / 2);
    spdlog::debug("systemd watchdog every {} ms", interval_.count() / 1000);
    arm();
}

void SystemdNotifier::stop_watchdog()
{
    interval_ = std::chrono::microseconds(0);
    watchdog_.cancel();
}

void SystemdNotifier::arm()
{
    watchdog_.expires_after(interval_);
    watchdog_.async_wait([this](error_code ec) {
        if (ec || interval_.count() == 0) return;
        notify("WATCHDOG=1");
        arm();
    });
}

}  // namespace mailqd
