// The mailqd application: opens the queue, starts the intake doors and the
// control socket, tells systemd it is ready, handles SIGTERM/SIGINT (orderly
// stop) and SIGHUP (reload), and owns the lifetime of everything it wires.
// One io_context thread; the StoreWriter has its own thread for commits.
//
// The scheduler and the POP3 fetcher are made by start_delivery() and
// start_fetching(); like every part that reacts to the queue or a reload,
// they register with events_ (QueueEvents::on_changed, on_config) and
// answer the control server through hooks_ (ControlHooks).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "daemon/control/control_commands.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/http/http_server.hpp"
#include "daemon/intake.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/pop3/pop3_fetcher.hpp"
#include "daemon/purger.hpp"
#include "daemon/queue_events.hpp"
#include "daemon/queue_lock.hpp"
#include "daemon/scheduler.hpp"
#include "daemon/spool_watcher.hpp"
#include "daemon/submit/submit_server.hpp"
#include "daemon/systemd_notify.hpp"
#include "spool/config.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

// Whole program: argv, config, run. Returns the exit code.
int mailqd_main(int argc, char** argv);

class Daemon {
public:
    explicit Daemon(Config config);
    ~Daemon();

    // Runs until SIGTERM/SIGINT; returns the exit code.
    int run();

private:
    Status open_queue();
    Status start_doors();
    void start_delivery();
    void start_fetching();
    Status start_metrics();
    HttpAnswer metrics_answer(std::string_view target);
    void wait_for_signals();
    void on_signal(int signal);
    void reload();
    void apply(const Config& next);
    void shutdown();
    awaitable<void> drain_and_stop();

    // Declared first: destroyed last, after everything bound to it.
    asio::io_context io_;
    Config config_;
    QueueEvents events_;
    ControlHooks hooks_;
    SystemdNotifier notifier_;
    asio::signal_set signals_;
    std::optional<QueueLock> queue_lock_;  // released after the writer's last commit
    std::unique_ptr<StoreWriter> writer_;  // drains its jobs when destroyed
    std::unique_ptr<Store> reader_;
    std::unique_ptr<Intake> intake_;
    std::unique_ptr<Purger> purger_;
    std::unique_ptr<ControlCommands> commands_;
    std::unique_ptr<ControlServer> control_;
    std::unique_ptr<SubmitServer> submit_;
    std::unique_ptr<SpoolWatcher> watcher_;
    // Last: destroyed first, while the store, writer and intake it uses live.
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<Pop3Fetcher> fetcher_;  // destroyed first: it uses the store and writer
    std::unique_ptr<HttpServer> metrics_;   // reads all of the above
    bool stopping_ = false;
};

// Helpers shared with mailqd_main and reload.
SubmitOptions submit_options(const Config& config);
SpoolWatcherOptions spool_options(const Config& config);
// Fills queue.hostname with the machine's FQDN when the file left it empty.
void resolve_hostname(Config& config);

}  // namespace mailqd
