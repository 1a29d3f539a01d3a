// See daemon.hpp.
#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <csignal>

#include "daemon/logging.hpp"
#include "daemon/metrics_page.hpp"
#include "daemon/net/spawn.hpp"
#include "daemon/net/unix_listener.hpp"

namespace mailqd {
namespace {

int exit_code(const Error& error) { return static_cast<int>(error.kind); }

// Where the old and the new config differ in something only a restart applies.
void warn_restart_needed(const Config& old_config, const Config& next)
{
    auto warn = [](const char* key) { spdlog::warn("reload: {} changed; it takes effect on restart", key); };
    if (old_config.queue.database != next.queue.database) warn("queue.database");
    if (old_config.queue.spool != next.queue.spool) warn("queue.spool");
    if (old_config.submit.socket != next.submit.socket ||
        old_config.submit.socket_mode != next.submit.socket_mode ||
        old_config.submit.socket_group != next.submit.socket_group)
        warn("submit.socket");
    if (old_config.submit.listen != next.submit.listen) warn("submit.listen");
    if (old_config.metrics.listen != next.metrics.listen) warn("metrics.listen");
    if (old_config.control.socket != next.control.socket ||
        old_config.control.socket_mode != next.control.socket_mode ||
        old_config.control.socket_group != next.control.socket_group)
        warn("control.socket");
}

}  // namespace

Daemon::Daemon(Config config)
    : config_(std::move(config)), notifier_(io_.get_executor()), signals_(io_, SIGTERM, SIGINT, SIGHUP)
{
}

Daemon::~Daemon()
{
    // Stop doors before the writer drains, so nothing new arrives.
    if (stopping_) return;  // shutdown() did it
    if (watcher_) watcher_->stop();
    if (submit_) submit_->stop();
    if (control_) control_->stop();
    if (purger_) purger_->stop();
    if (scheduler_) scheduler_->stop();
    if (fetcher_) fetcher_->stop();
    if (metrics_) metrics_->stop();
}

int Daemon::run()
{
    if (Status s = open_queue(); !s) {
        spdlog::error("{}", s.error().message);
        return exit_code(s.error());
    }
    if (Status s = start_doors(); !s) {
        spdlog::error("{}", s.error().message);
        return exit_code(s.error());
    }
    start_delivery();
    start_fetching();
    if (Status s = start_metrics(); !s) {
        spdlog::error("{}", s.error().message);
        return exit_code(s.error());
    }
    wait_for_signals();
    notifier_.ready("accepting mail");
    notifier_.start_watchdog();
    spdlog::info("mailqd {} ready: database={} spool={} submit={} control={}", MAILQD_VERSION,
                 config_.queue.database.string(), config_.queue.spool.string(),
                 config_.submit.socket.string(), config_.control.socket.string());
    io_.run();
    spdlog::info("mailqd stopped");
    return 0;
}

Status Daemon::open_queue()
{
    if (Status s = ensure_directory(config_.queue.database.parent_path(), 0750); !s)
        return s.error().context("queue.database");
    auto lock = QueueLock::take(config_.queue.database);
    if (!lock) return lock.error();
    queue_lock_.emplace(std::move(*lock));
    // The queue holds mail of every local user: its files (and the -wal and
    // -shm files SQLite gives the database's mode) are the daemon's alone,
    // whatever umask it was started under.
    const mode_t old_mask = ::umask(0077);
    auto writer = StoreWriter::open(config_.queue.database);
    ::umask(old_mask);
    if (!writer) return writer.error().context(config_.queue.database.string());
    writer_ = std::move(*writer);
    auto reader = Store::open(config_.queue.database);
    if (!reader) return reader.error().context(config_.queue.database.string());
    reader_ = std::move(*reader);
    intake_ = std::make_unique<Intake>(*writer_, events_, config_.queue.hostname);
    purger_ = std::make_unique<Purger>(io_.get_executor(), *writer_, *reader_, config_.queue.keep_done);
    events_.on_changed([this] { purger_->changed(); });
    purger_->changed();  // done messages may be left from the last run
    return {};
}

Status Daemon::start_doors()
{
    auto spool = SpoolDir::open(config_.queue.spool);
    if (!spool) return spool.error().context("queue.spool " + config_.queue.spool.string());

    auto accept = [this](NewMessage message) { return intake_->accept(std::move(message)); };
    submit_ = std::make_unique<SubmitServer>(io_.get_executor(), submit_options(config_), accept);
    if (Status s = ensure_directory(config_.submit.socket.parent_path(), 0755); !s) return s;
    if (Status s = submit_->listen_unix(config_.submit.socket, config_.submit.socket_mode,
                                        config_.submit.socket_group);
        !s)
        return s.error().context("submit.socket");
    if (!config_.submit.listen.empty())
        if (Status s = submit_->listen_tcp(config_.submit.listen); !s)
            return s.error().context("submit.listen");

    hooks_.submit_refusals = [this] {
        const RefusalCounts refused = submit_->refusals();
        Json out = Json::object();
        for (std::size_t i = 0; i < refused_names.size(); ++i)
            out[std::string(refused_names[i])] = refused.counts[i];
        return out;
    };
    commands_ = std::make_unique<ControlCommands>(*reader_, *writer_, events_, config_, hooks_);
    control_ = std::make_unique<ControlServer>(io_.get_executor(), *commands_);
    if (Status s = control_->listen(config_.control.socket, config_.control.socket_mode,
                                    config_.control.socket_group);
        !s)
        return s.error().context("control.socket");

    watcher_ = std::make_unique<SpoolWatcher>(io_.get_executor(), std::move(*spool), *reader_, *intake_,
                                              spool_options(config_));
    submit_->start();
    control_->start();
    return watcher_->start();
}

// The delivery scheduler: reads due() from reader_, records attempts
// through writer_, bounces through intake_, wakes on events_.on_changed(...),
// follows relays through events_.on_config(...) and answers
// hooks_.relay_in_flight for `mailqctl stats`.
void Daemon::start_delivery()
{
    scheduler_ = std::make_unique<Scheduler>(io_.get_executor(), *reader_, *writer_, *intake_, config_);
    events_.on_changed([this] { scheduler_->changed(); });
    events_.on_rescan([this] { scheduler_->rescan(); });
    events_.on_config([this](const Config& config) { scheduler_->reconfigure(config); });
    hooks_.relay_in_flight = [this](const std::string& relay) {
        return static_cast<unsigned>(scheduler_->in_flight(relay));
    };
    hooks_.retry_requested = [this] { scheduler_->retry_requested(); };
    scheduler_->start();
}

// The POP3 fetcher: a coroutine per mailbox, hooks_.fetch for
// `mailqctl fetch`, events_.on_config(...) for reloaded mailboxes.
void Daemon::start_fetching()
{
    fetcher_ = std::make_unique<Pop3Fetcher>(io_.get_executor(), *reader_, *writer_, config_);
    events_.on_config([this](const Config& config) { fetcher_->reconfigure(config); });
    hooks_.fetch = [this](std::vector<std::string> names) { return fetcher_->fetch_now(std::move(names)); };
    fetcher_->start();
}

// GET /metrics and /healthz on metrics.listen, when set. Each scrape reads
// the store's kept counters (a few small rows, no scan of the queue) and
// the parts' own counts, on the io thread.
Status Daemon::start_metrics()
{
    if (config_.metrics.listen.empty()) return {};
    metrics_ = std::make_unique<HttpServer>(
        io_.get_executor(), [this](std::string_view target) { return metrics_answer(target); });
    if (Status s = metrics_->listen(config_.metrics.listen); !s) return s.error().context("metrics.listen");
    metrics_->start();
    spdlog::info("metrics on http://{}/metrics", config_.metrics.listen);
    return {};
}

HttpAnswer Daemon::metrics_answer(std::string_view target)
{
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
        if (auto problem = health_problem(writer_->faults()))
            return {503, "text/plain; charset=utf-8", *problem + "\n"};
        return {200, "text/plain; charset=utf-8", "ok\n"};
    }
    if (path != "/metrics")
        return {404, "text/plain; charset=utf-8", "not found: GET /metrics or /healthz\n"};
    MetricsSnapshot snapshot;
    auto counts = reader_->counts(now_seconds());
    auto relays = reader_->relay_totals();
    auto mailboxes = reader_->mailbox_totals();
    if (!counts || !relays || !mailboxes) {
        const Error& e = !counts ? counts.error() : !relays ? relays.error() : mailboxes.error();
        return {500, "text/plain; charset=utf-8", "reading the queue: " + e.message + "\n"};
    }
    snapshot.queue = *counts;
    snapshot.relay_totals = std::move(*relays);
    snapshot.mailboxes = std::move(*mailboxes);
    for (const auto& relay : config_.relays) {
        snapshot.relays.push_back(relay.name);
        snapshot.in_flight.emplace_back(relay.name, scheduler_ ? scheduler_->in_flight(relay.name) : 0);
    }
    const RefusalCounts refused = submit_->refusals();
    for (std::size_t i = 0; i < refused_names.size(); ++i)
        snapshot.refusals.emplace_back(std::string(refused_names[i]), refused.counts[i]);
    snapshot.faults = writer_->faults();
    snapshot.telemetry = &intake_->telemetry();
    return {200, std::string(metrics_content_type), render_metrics(snapshot)};
}

void Daemon::wait_for_signals()
{
    signals_.async_wait([this](error_code ec, int signal) {
        if (ec) return;
        on_signal(signal);
        wait_for_signals();
    });
}

void Daemon::on_signal(int signal)
{
    if (signal == SIGHUP) {
        reload();
        return;
    }
    if (stopping_) {
        spdlog::warn("second stop signal: stopping now");
        io_.stop();
        return;
    }
    spdlog::info("signal {}: stopping", signal == SIGTERM ? "TERM" : "INT");
    shutdown();
}

void Daemon::reload()
{
    const auto file = config_.file;
    notifier_.reloading();
    ConfigLoad load = load_config(file);
    if (!load.config || !load.problems.empty()) {
        for (const auto& problem : load.problems) spdlog::error("reload: {}", problem.to_string());
        spdlog::error("reload of {} failed: keeping the running config", file.string());
        notifier_.ready("accepting mail; the last reload failed, the running config is kept (see the log)");
        return;
    }
    Config next = std::move(*load.config);
    if (next.file.empty()) next.file = file;
    resolve_hostname(next);
    apply(next);
    config_ = std::move(next);
    events_.config_changed(config_);
    spdlog::info("reloaded {}: {} relays, {} mailboxes", file.string(), config_.relays.size(),
                 config_.mailboxes.size());
    notifier_.ready("accepting mail");
}

void Daemon::apply(const Config& next)
{
    warn_restart_needed(config_, next);
    if (Status s = set_log_level(next.log.level); !s) spdlog::error("reload: {}", s.error().message);
    submit_->set_options(submit_options(next));
    watcher_->set_options(spool_options(next));
    purger_->set_keep_done(next.queue.keep_done);
}

void Daemon::shutdown()
{
    stopping_ = true;
    notifier_.stopping();
    notifier_.stop_watchdog();
    watcher_->stop();
    submit_->stop();
    control_->stop();
    purger_->stop();
    if (scheduler_) scheduler_->stop();
    if (fetcher_) fetcher_->stop();
    if (metrics_) metrics_->stop();
    spawn_logged(io_.get_executor(), drain_and_stop(), "shutdown");
}

// Commits already posted are let finish (the doors are closed, so no new
// ones come); then the loop stops even if something still holds work.
awaitable<void> Daemon::drain_and_stop()
{
    asio::steady_timer timer(io_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (intake_->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(use_awaitable);
    }
    io_.stop();
}

}  // namespace mailqd
